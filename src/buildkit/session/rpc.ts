import type * as grpc from "@grpc/grpc-js";
import { type Codec, codec } from "../wire.ts";

/**
 * One method of a service served on the session (the daemon is the gRPC client there): its full path, as
 * the session advertises it in `X-Docker-Expose-Session-Grpc-Method`, and its grpc-js definition.
 */
export interface SessionMethod {
  path: string;
  definition: grpc.MethodDefinition<unknown, unknown>;
  handler: grpc.UntypedHandleCall;
}

function definition<Req, Res>(
  path: string,
  req: Codec<Req>,
  res: Codec<Res>,
  streams: boolean,
): grpc.MethodDefinition<unknown, unknown> {
  return {
    path,
    requestStream: streams,
    responseStream: streams,
    requestSerialize: (v: unknown) => req.encode(v as Req),
    requestDeserialize: (b: Buffer) => req.decode(b),
    responseSerialize: (v: unknown) => res.encode(v as Res),
    responseDeserialize: (b: Buffer) => res.decode(b),
  };
}

export function unaryMethod<Req, Res>(
  path: string,
  reqType: string,
  resType: string,
  handle: (request: Req, metadata: grpc.Metadata) => Promise<Res>,
): SessionMethod {
  const handler: grpc.handleUnaryCall<Req, Res> = (call, callback) => {
    handle(call.request, call.metadata).then(
      (res) => callback(null, res),
      (e: unknown) => callback(e as grpc.ServiceError),
    );
  };
  return {
    path,
    definition: definition(path, codec<Req>(reqType), codec<Res>(resType), false),
    handler: handler as grpc.UntypedHandleCall,
  };
}

export function bidiMethod<Req, Res>(
  path: string,
  reqType: string,
  resType: string,
  handle: (call: grpc.ServerDuplexStream<Req, Res>) => void,
): SessionMethod {
  return {
    path,
    definition: definition(path, codec<Req>(reqType), codec<Res>(resType), true),
    handler: handle as grpc.UntypedHandleCall,
  };
}

/** A gRPC status error for a session handler to reject with. */
export function statusError(code: grpc.status, details: string): Error & { code: number; details: string } {
  return Object.assign(new Error(details), { code, details });
}
