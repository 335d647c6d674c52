/**
 * ADD of a URL: the download is a source whose cache key is the digest of what was downloaded (or the
 * --checksum the Dockerfile pins, which is then verified), and whose result is one layer directory with
 * the file at its root: mode 0600 and the server's Last-Modified time, as BuildKit does.
 *
 * The file's name comes from the graph (the frontend took it from the URL, never from a redirect or a
 * header) and must be a plain base name: a graph naming `../../etc/x` is refused before anything is
 * downloaded, and the file is then created in the fresh directory without following any link.
 */
import { createHash, randomBytes } from "node:crypto";
import { constants, createWriteStream } from "node:fs";
import { copyFile, lutimes, mkdir, rm } from "node:fs/promises";
import { join } from "node:path";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { UserError } from "../errors/user-error.ts";
import { isBaseName } from "../graph/http-filename.ts";
import type { HttpSource } from "../graph/types.ts";
import { resolveInRoot } from "../worker/worker.ts";
import type { RunEnv } from "./run-env.ts";
import type { Workspace } from "./workspace.ts";

export interface HttpDownload {
  path: string;
  digest: string;
  lastModified: Date | undefined;
  discard(): Promise<void>;
}

export async function downloadHttp(
  source: HttpSource,
  ws: Workspace,
  signal: AbortSignal,
): Promise<HttpDownload> {
  checkFileName(source);
  const dir = join(ws.root, "tmp");
  await mkdir(dir, { recursive: true });
  const path = join(dir, `http-${process.pid}-${randomBytes(6).toString("hex")}`);
  let response: Response;
  try {
    response = await fetch(source.url, { signal, redirect: "follow" });
  } catch (e) {
    if (signal.aborted) throw e;
    throw new UserError(`ADD ${source.url}: ${(e as Error).message}`, { cause: e });
  }
  if (!response.ok || !response.body) {
    throw new UserError(`ADD ${source.url}: the server answered ${response.status} ${response.statusText}`);
  }
  const hash = createHash("sha256");
  const body = Readable.fromWeb(response.body as import("node:stream/web").ReadableStream<Uint8Array>);
  body.on("data", (chunk: Buffer) => hash.update(chunk));
  try {
    await pipeline(body, createWriteStream(path, { mode: 0o600 }), { signal });
  } catch (e) {
    await rm(path, { force: true });
    throw e;
  }
  const digest = `sha256:${hash.digest("hex")}`;
  if (source.checksum && source.checksum !== digest) {
    await rm(path, { force: true });
    throw new UserError(
      `ADD ${source.url}: the download has digest ${digest}, not the expected ${source.checksum}`,
    );
  }
  const header = response.headers.get("last-modified");
  const date = header ? new Date(header) : undefined;
  return {
    path,
    digest,
    lastModified: date && !Number.isNaN(date.getTime()) ? date : undefined,
    discard: () => rm(path, { force: true }),
  };
}

export async function runHttp(
  env: RunEnv,
  name: string,
  source: HttpSource,
  downloaded: HttpDownload | undefined,
): Promise<string[]> {
  checkFileName(source);
  if (await env.worker.hasSnapshot(name)) return [name];
  const file = downloaded ?? (await downloadHttp(source, env.ws, env.signal));
  try {
    await env.worker.newSnapshot("http", name, async (root) => {
      const target = resolveInRoot(root, `/${source.filename}`, false).host;
      await copyFile(file.path, target, constants.COPYFILE_EXCL);
      if (file.lastModified) await lutimes(target, file.lastModified, file.lastModified);
    });
    return [name];
  } finally {
    if (!downloaded) await file.discard();
  }
}

function checkFileName(source: HttpSource): void {
  if (isBaseName(source.filename)) return;
  throw new UserError(
    `ADD ${source.url}: the download's file name ${JSON.stringify(source.filename)} is a path, not a file name`,
    { hint: "the build graph names the downloaded file; it must be a single name such as app.tar.gz" },
  );
}
