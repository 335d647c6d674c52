import { constants } from "node:fs";
import { open } from "node:fs/promises";
import * as grpc from "@grpc/grpc-js";
import { PacketType, type WirePacket } from "../wire.ts";
import { isRegularGoMode, walkContext } from "./context-walk.ts";
import { bidiMethod, type SessionMethod } from "./rpc.ts";

/** What one directory's transfers sent, so a caller (and a test) can see the daemon asked only for changes. */
export interface SyncCounters {
  /** Entries whose metadata was sent. */
  stats: number;
  /** Files whose contents the daemon requested. */
  files: number;
  /** Bytes of file contents sent. */
  bytes: number;
  /** Paths (relative) whose contents were sent, in the order asked. */
  paths: string[];
}

const chunkSize = 32 << 10;

/**
 * fsutil's DiffCopy sender (BuildKit's FileSync service): the daemon names a directory in the `dir-name`
 * header; we stream every entry's metadata, then the contents of exactly the files it requests (its cache
 * already has the rest), then answer its FIN with ours.
 */
export function fileSyncMethod(
  dirs: ReadonlyMap<string, string>,
  counters: Map<string, SyncCounters>,
): SessionMethod {
  return bidiMethod<WirePacket, WirePacket>(
    "/moby.filesync.v1.FileSync/DiffCopy",
    "Packet",
    "Packet",
    (call) => {
      serveDiffCopy(call, dirs, counters).catch((e: unknown) => {
        const message = e instanceof Error ? e.message : String(e);
        call.emit("error", { code: grpc.status.UNKNOWN, details: message });
      });
    },
  );
}

function header(md: grpc.Metadata, key: string): string[] {
  const values = md.get(key).map(String);
  const encoded = md.get(`${key}-encoded`).map(String)[0];
  // Non-ASCII values are query-escaped by the sender and flagged so (filesync's header encoding).
  const split = values.flatMap((v) => v.split(",").map((s) => s.trim())).filter((s) => s !== "");
  return encoded === "1" || encoded === "true" ? split.map(decodeURIComponent) : split;
}

async function serveDiffCopy(
  call: grpc.ServerDuplexStream<WirePacket, WirePacket>,
  dirs: ReadonlyMap<string, string>,
  counters: Map<string, SyncCounters>,
): Promise<void> {
  const name = header(call.metadata, "dir-name")[0] ?? "";
  const root = dirs.get(name);
  if (root === undefined) {
    call.emit("error", { code: grpc.status.NOT_FOUND, details: `no access allowed to dir "${name}"` });
    return;
  }
  const count = counters.get(name) ?? { stats: 0, files: 0, bytes: 0, paths: [] };
  counters.set(name, count);
  const send = (p: Partial<WirePacket>) =>
    new Promise<void>((resolve) => {
      if (call.write(p as WirePacket)) resolve();
      else call.once("drain", resolve);
    });

  const files = new Map<number, { abs: string; path: string }>();
  const requests: number[] = [];
  let wake: (() => void) | undefined;
  let finished = false;
  let failure: Error | undefined;
  call.on("data", (p: WirePacket) => {
    if (p.type === PacketType.REQ) requests.push(p.id);
    else if (p.type === PacketType.FIN) finished = true;
    else if (p.type === PacketType.ERR) failure = new Error(`error from the daemon: ${p.data.toString()}`);
    wake?.();
  });
  call.on("end", () => {
    finished = true;
    wake?.();
  });
  call.on("error", (e: Error) => {
    failure = e;
    wake?.();
  });

  const entries = await walkContext(root, {
    include: header(call.metadata, "include-patterns"),
    follow: header(call.metadata, "followpaths"),
    exclude: header(call.metadata, "exclude-patterns"),
  });
  let id = 0;
  for (const e of entries) {
    if (isRegularGoMode(e.stat.mode)) files.set(id, { abs: e.abs, path: e.stat.path });
    id++;
    count.stats++;
    await send({ type: PacketType.STAT, stat: e.stat });
  }
  await send({ type: PacketType.STAT });

  for (;;) {
    if (failure) throw failure;
    const next = requests.shift();
    if (next !== undefined) {
      const file = files.get(next);
      if (!file) throw new Error(`the daemon asked for file id ${next}, which was not offered`);
      files.delete(next);
      count.files++;
      count.paths.push(file.path);
      // No link is followed: a file replaced by a symlink since the walk fails instead of leaking its target.
      const handle = await open(file.abs, constants.O_RDONLY | constants.O_NOFOLLOW);
      try {
        const buf = Buffer.allocUnsafe(chunkSize);
        for (;;) {
          const { bytesRead } = await handle.read(buf, 0, chunkSize, null);
          if (bytesRead === 0) break;
          count.bytes += bytesRead;
          await send({ type: PacketType.DATA, id: next, data: Buffer.from(buf.subarray(0, bytesRead)) });
        }
      } finally {
        await handle.close();
      }
      await send({ type: PacketType.DATA, id: next });
      continue;
    }
    if (finished) break;
    await new Promise<void>((r) => {
      wake = r;
    });
    wake = undefined;
  }
  await send({ type: PacketType.FIN });
  call.end();
}
