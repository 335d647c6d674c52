import { readFile } from "node:fs/promises";
import * as grpc from "@grpc/grpc-js";
import { type SessionMethod, statusError, unaryMethod } from "./rpc.ts";

/** A secret the daemon may ask for by id: bytes held in memory, or a file read when asked. */
export type SecretValue = { data: Uint8Array } | { file: string };

/**
 * BuildKit's Secrets service: a RUN step's `--mount=type=secret` makes the daemon ask the session for the
 * id; the bytes go only into that call's answer (never logged, never kept here beyond the build).
 */
export function secretsMethod(secrets: ReadonlyMap<string, SecretValue>): SessionMethod {
  return unaryMethod<{ id: string }, { data: Uint8Array }>(
    "/moby.buildkit.secrets.v1.Secrets/GetSecret",
    "GetSecretRequest",
    "GetSecretResponse",
    async ({ id }) => {
      const value = secrets.get(id);
      if (!value) throw statusError(grpc.status.NOT_FOUND, `secret ${id} not found`);
      if ("data" in value) return { data: value.data };
      try {
        return { data: await readFile(value.file) };
      } catch {
        // The path is the user's own option; its contents are never quoted.
        throw statusError(grpc.status.NOT_FOUND, `secret ${id}: cannot read its file`);
      }
    },
  );
}
