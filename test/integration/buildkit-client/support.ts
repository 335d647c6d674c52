import { createHash } from "node:crypto";
import { mkdir, mkdtemp, readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { gunzipSync } from "node:zlib";
import { readTar } from "../../../src/oci/layer/tar-reader.ts";
import { run } from "../../harness/exec.ts";

async function* once(b: Buffer): AsyncGenerator<Buffer> {
  yield b;
}

/** Writes a context directory from a name → content table (parents made as needed). */
export async function writeContext(files: Record<string, string>, parent?: string): Promise<string> {
  const dir = await mkdtemp(join(parent ?? tmpdir(), "polyarch-bk-ctx-"));
  for (const [name, content] of Object.entries(files)) {
    await mkdir(dirname(join(dir, name)), { recursive: true });
    await writeFile(join(dir, name), content);
  }
  return dir;
}

/** One file of a layer as a user sees it once unpacked (no mtimes: two builds of one step differ there). */
export interface LayerFile {
  path: string;
  type: string;
  mode: string;
  uid: number;
  gid: number;
  linkname: string;
  sha256?: string;
}

/** The entries of a gzip or plain layer tar, sorted. */
export async function layerFiles(bytes: Buffer): Promise<{ files: LayerFile[]; raw: Buffer }> {
  const raw = bytes[0] === 0x1f && bytes[1] === 0x8b ? gunzipSync(bytes) : bytes;
  const files: LayerFile[] = [];
  for await (const e of readTar(once(raw))) {
    const chunks: Buffer[] = [];
    for await (const c of e.body) chunks.push(c);
    const f: LayerFile = {
      path: e.name.replace(/\/$/, ""),
      type: e.type,
      mode: (e.mode & 0o7777).toString(8),
      uid: e.uid,
      gid: e.gid,
      linkname: e.linkname,
    };
    if (e.type === "file") f.sha256 = createHash("sha256").update(Buffer.concat(chunks)).digest("hex");
    files.push(f);
  }
  files.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  return { files, raw };
}

/** The text of one file in a layer, or undefined. */
export async function fileInLayer(bytes: Buffer, path: string): Promise<string | undefined> {
  const raw = bytes[0] === 0x1f && bytes[1] === 0x8b ? gunzipSync(bytes) : bytes;
  for await (const e of readTar(once(raw))) {
    const chunks: Buffer[] = [];
    for await (const c of e.body) chunks.push(c);
    if (e.name.replace(/^\.?\//, "") === path) return Buffer.concat(chunks).toString("utf8");
  }
  return undefined;
}

/** An OCI archive written by buildctl, unpacked by tar: its blobs read by digest. */
export async function unpackOciTar(tar: string): Promise<(digest: string) => Promise<Buffer>> {
  const dir = await mkdtemp(join(tmpdir(), "polyarch-bk-oci-"));
  const r = await run("tar", ["-xf", tar, "-C", dir]);
  if (r.code !== 0) throw new Error(r.stderr);
  return (digest) => readFile(join(dir, "blobs", ...digest.split(":")));
}

/** Each entry's extended attributes (hex values), by path, for entries that have any. */
export async function layerXattrs(bytes: Buffer): Promise<Record<string, Record<string, string>>> {
  const raw = bytes[0] === 0x1f && bytes[1] === 0x8b ? gunzipSync(bytes) : bytes;
  const out: Record<string, Record<string, string>> = {};
  for await (const e of readTar(once(raw))) {
    for await (const _ of e.body) {
      // drain
    }
    if (e.xattrs.size > 0)
      out[e.name.replace(/^\.?\//, "")] = Object.fromEntries(
        [...e.xattrs].map(([k, v]) => [k, v.toString("hex")]),
      );
  }
  return out;
}
