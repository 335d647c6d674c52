/**
 * A client's context files, laid out on a node: the node asks the client which files a local source
 * selects (with their content digests), fetches only the digests its content store lacks (so a file sent
 * once is never sent again), and writes the selection into a fresh directory with the client's modes,
 * owners and times, so a COPY makes the same layer bytes as on the client.
 *
 * The paths are the client's: each is checked to be relative without `..`, and no entry is written under
 * a path that the list makes a symlink or a file, so nothing lands outside the directory.
 */
import { createWriteStream } from "node:fs";
import { chmod, lchown, link, lutimes, mkdir, mkdtemp, symlink, utimes } from "node:fs/promises";
import { join } from "node:path";
import { pipeline } from "node:stream/promises";
import type { ContentStore } from "../../content/types.ts";
import type { LocalSource } from "../../graph/types.ts";
import type { LocalContextProvider, LocalSelection } from "../../solver/types.ts";
import type { Wire } from "./wire.ts";
import { parseWireFiles, type WireFile, wireError } from "./wire-values.ts";

export interface NodeContexts {
  provider: LocalContextProvider;
  /** Bytes and files fetched from the client (the rest came from the node's store). */
  fetched: { files: number; bytes: number };
}

export function nodeContexts(wire: Wire, store: ContentStore, scratch: string): NodeContexts {
  const fetched = { files: 0, bytes: 0 };
  const listed = new Map<string, Promise<LocalSelection>>();
  const provider: LocalContextProvider = (source: LocalSource) => {
    const key = JSON.stringify(source);
    let p = listed.get(key);
    if (!p) {
      p = (async () => {
        const answer = await wire.request("context", { source });
        const files = parseWireFiles(answer.files).filter((f) => f.type !== "other");
        for (const f of files) {
          if (f.type !== "file" || f.link !== undefined || (await store.has(f.digest!))) continue;
          const { stream, answer: done } = await wire.requestBlob("blob", { digest: f.digest });
          await store.write({ digest: f.digest!, size: f.size }, stream, { where: `context file ${f.path}` });
          await done;
          fetched.files++;
          fetched.bytes += f.size;
        }
        await mkdir(scratch, { recursive: true, mode: 0o700 });
        const root = await mkdtemp(join(scratch, "ctx-"));
        await layOut(root, files, store);
        return { root, files: files.map(({ mtimeMs: _m, digest: _d, link: _l, ...f }) => f) };
      })();
      listed.set(key, p);
    }
    return p;
  };
  return { provider, fetched };
}

export async function layOut(root: string, files: readonly WireFile[], store: ContentStore): Promise<void> {
  const kinds = new Map<string, WireFile["type"]>();
  for (const f of files) {
    if (kinds.has(f.path)) throw wireError(`the path ${JSON.stringify(f.path)} twice`);
    kinds.set(f.path, f.type);
  }
  for (const f of files) {
    const parts = f.path.split("/");
    for (let i = 1; i < parts.length; i++) {
      const t = kinds.get(parts.slice(0, i).join("/"));
      if (t !== undefined && t !== "dir") throw wireError(`a path under a ${t} (${JSON.stringify(f.path)})`);
    }
  }
  const abs = (p: string) => join(root, p);
  for (const f of files) {
    const at = abs(f.path);
    await mkdir(join(at, ".."), { recursive: true, mode: 0o755 });
    if (f.type === "dir") {
      await mkdir(at, { mode: 0o700 }).catch((e: NodeJS.ErrnoException) => {
        if (e.code !== "EEXIST") throw e;
      });
    } else if (f.type === "symlink") {
      await symlink(f.linkTarget!, at);
    } else if (f.link !== undefined) {
      await link(abs(files[f.link]!.path), at);
      continue;
    } else {
      await pipeline(await store.readStream(f.digest!), createWriteStream(at, { flags: "wx", mode: 0o600 }));
    }
    await lchown(at, f.uid, f.gid);
    if (f.type !== "symlink") await chmod(at, f.mode & 0o7777);
  }
  // Times last, deepest first, so writing into a directory does not change its time again.
  const byDepth = [...files].sort((a, b) => b.path.split("/").length - a.path.split("/").length);
  for (const f of byDepth) {
    const t = f.mtimeMs / 1000;
    if (f.type === "symlink") await lutimes(abs(f.path), t, t);
    else await utimes(abs(f.path), t, t);
  }
}
