import * as grpc from "@grpc/grpc-js";
import { bidiMethod, type SessionMethod } from "./rpc.ts";

/**
 * BuildKit's FileSend service, as a file target: the `oci`/`tar`/`docker` exporters stream their archive to
 * the client in BytesMessage frames. `receive` gets the bytes as an async iterable and its metadata (the
 * exporter id in `buildkit-attachable-exporter-id`); the call ends when it resolves, so a consumer that
 * verifies as it reads fails the daemon's export too.
 */
export function fileSendMethod(
  receive: (data: AsyncIterable<Buffer>, exporterId: number) => Promise<void>,
): SessionMethod {
  return bidiMethod<{ data: Buffer }, { data: Buffer }>(
    "/moby.filesync.v1.FileSend/DiffCopy",
    "BytesMessage",
    "BytesMessage",
    (call) => {
      const id = Number(call.metadata.get("buildkit-attachable-exporter-id").map(String)[0] ?? "0");
      const data = (async function* () {
        for await (const m of call as AsyncIterable<{ data: Buffer }>) if (m.data.length > 0) yield m.data;
      })();
      receive(data, id).then(
        () => call.end(),
        (e: unknown) => {
          call.emit("error", {
            code: grpc.status.ABORTED,
            details: e instanceof Error ? e.message : String(e),
          });
        },
      );
    },
  );
}
