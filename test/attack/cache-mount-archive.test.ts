// A cache mount's archive in a --cache-from layout is untrusted: it may climb out with "..", absolute or
// PAX names, plant links and hard links to host files, device nodes, fifos and whiteouts. None of it may
// reach the host or a step: such an archive is refused whole (a warning; the step starts with an empty
// cache), and links are resolved inside the cache directory.
import assert from "node:assert/strict";
import { cp, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before } from "node:test";
import { digestOf } from "../../src/oci/digest.ts";
import { pushBusyboxImage } from "../harness/images.ts";
import { startRegistry, type TestRegistry } from "../harness/registry.ts";
import { polyarch } from "../support/cli.ts";
import { attack } from "./support/attack.ts";
import { gzipLayer, type RawEntry, rawTar } from "./support/raw-tar.ts";

let reg: TestRegistry;
let dir: string;
let base: string;
let written: string;
let seq = 0;
before(async () => {
  reg = await startRegistry();
  base = (await pushBusyboxImage(reg)).ref;
  dir = await mkdtemp(join(tmpdir(), "polyarch-attack-cache-mount-"));
  written = join(dir, "cache-written");
  const ctx = await context(
    "RUN --mount=type=cache,target=/c echo real > /c/real && mkdir /out && echo 1 > /out/1",
  );
  await build(ctx, ["--cache-to", `type=local,dest=${written},cache-mounts=true`]);
});
after(async () => {
  await reg?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

async function context(run: string): Promise<string> {
  const ctx = await mkdtemp(join(dir, "ctx-"));
  await writeFile(join(ctx, "Dockerfile"), `FROM ${base}\n${run}\n`);
  return ctx;
}

async function build(ctx: string, flags: string[]): Promise<{ out: string; output: string }> {
  const n = ++seq;
  const out = join(dir, `out-${n}`);
  const r = await polyarch(
    ["build", "--progress=plain", "--platform", "linux/amd64", "-o", `type=local,dest=${out}`, ...flags, ctx],
    { env: { POLYARCH_ROOT: join(dir, `state-${n}`) } },
  );
  assert.equal(r.code, 0, r.stderr + r.stdout);
  return { out, output: r.stderr + r.stdout };
}

const blobPath = (cache: string, digest: string) => join(cache, "blobs", ...digest.split(":"));

async function addBlob(cache: string, bytes: Buffer): Promise<{ digest: string; size: number }> {
  const digest = digestOf(bytes);
  await writeFile(blobPath(cache, digest), bytes);
  return { digest, size: bytes.length };
}

/** A copy of the written cache whose cache-mount manifest holds `layer` (and `annotations`, if given). */
async function hostileCache(
  layer: { blob: Buffer; size: number },
  annotations?: Record<string, string>,
): Promise<string> {
  const cache = join(dir, `cache-${++seq}`);
  await cp(written, cache, { recursive: true });
  const top = JSON.parse(await readFile(join(cache, "index.json"), "utf8")) as {
    manifests: Record<string, unknown>[];
  };
  const index = JSON.parse(await readFile(blobPath(cache, top.manifests[0]!.digest as string), "utf8")) as {
    manifests: Record<string, unknown>[];
  };
  const entry = index.manifests.find((m) => m.artifactType === "application/vnd.polyarch.cache-mount.v1");
  assert.ok(entry, "the written cache has a cache-mount entry");
  const manifest = JSON.parse(await readFile(blobPath(cache, entry.digest as string), "utf8")) as {
    layers: Record<string, unknown>[];
    annotations: Record<string, string>;
  };
  const blob = await addBlob(cache, layer.blob);
  manifest.layers = [{ ...manifest.layers[0], ...blob }];
  if (annotations) {
    manifest.annotations = annotations;
    entry.annotations = annotations;
  }
  Object.assign(entry, await addBlob(cache, Buffer.from(JSON.stringify(manifest))));
  Object.assign(top.manifests[0]!, await addBlob(cache, Buffer.from(JSON.stringify(index))));
  await writeFile(join(cache, "index.json"), JSON.stringify(top));
  return cache;
}

/** Builds a step that lists the cache mount, from `cache`; returns what it saw and the output. */
async function restoreFrom(cache: string): Promise<{ seen: string; output: string }> {
  const ctx = await context(
    "RUN --mount=type=cache,target=/c mkdir /out && (cd /c && find . | sort) > /out/seen && echo read",
  );
  const b = await build(ctx, ["--cache-from", `type=local,src=${cache}`]);
  return { seen: await readFile(join(b.out, "out", "seen"), "utf8"), output: b.output };
}

/** Refused whole: a warning, and the step's cache is empty (nothing half-unpacked reaches it). */
async function assertRefused(entries: RawEntry[]): Promise<string> {
  const cache = await hostileCache(gzipLayer(rawTar(entries)));
  const r = await restoreFrom(cache);
  assert.match(r.output, /cache mount id=\/c \(linux\/amd64\) could not be restored/);
  assert.equal(r.seen, ".\n");
  // Names from the archive may be quoted; a host file's bytes never are.
  assert.doesNotMatch(r.output, /canary: must never change/);
  return r.output;
}

attack("a cache-mount archive whose names climb out with .. or are absolute is refused", async (c) => {
  await assertRefused([
    { name: "ok", content: "fine" },
    { name: `../../../../../../../..${c.tmpDir}/escaped`, content: "x" },
  ]);
  await assertRefused([
    { name: "ok", content: "fine" },
    { name: "x", content: "x", pax: { path: `../../../..${c.tmpDir}/pax` } },
  ]);
});

attack("a cache-mount archive with a hard link to a host file is refused", async (c) => {
  await assertRefused([{ name: "passwd", type: "hardlink", linkname: `../../../../../../..${c.etcFile}` }]);
});

attack("a cache-mount archive with device nodes, fifos or whiteouts is refused", async () => {
  await assertRefused([{ name: "mem", type: "char", devmajor: 1, devminor: 1 }]);
  await assertRefused([{ name: "disk", type: "block", devmajor: 8, devminor: 0 }]);
  await assertRefused([{ name: "pipe", type: "fifo" }]);
  await assertRefused([
    { name: "a", content: "a" },
    { name: ".wh.a", content: "" },
  ]);
});

attack("links in a cache-mount archive are resolved inside the cache directory", async (c) => {
  const cache = await hostileCache(
    gzipLayer(
      rawTar([
        { name: "out", type: "symlink", linkname: c.tmpDir },
        { name: "out/planted", content: "through the link" },
        { name: "up", type: "symlink", linkname: "../../../../../../.." },
        { name: "up/etc-planted", content: "x" },
      ]),
    ),
  );
  const r = await restoreFrom(cache);
  // What the links led to is inside the cache directory; the host's /tmp and / are untouched.
  assert.match(r.seen, /\.\/out\n/);
  assert.match(r.seen, new RegExp(`\\./${c.tmpDir.slice(1).replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}/planted`));
  assert.match(r.seen, /\.\/etc-planted\n/);
});

attack("a cache-mount archive that is not its digest, or not gzip, is refused", async () => {
  const good = gzipLayer(rawTar([{ name: "f", content: "ok" }]));
  const cache = await hostileCache(good);
  // The same length, other bytes: the layout reader's digest check fails the stream.
  const path = blobPath(cache, good.digest);
  const bytes = Buffer.from(good.blob);
  bytes[bytes.length - 5]! ^= 0xff;
  await writeFile(path, bytes);
  const r = await restoreFrom(cache);
  assert.match(r.output, /could not be restored/);
  assert.equal(r.seen, ".\n");
  const notGzip = await hostileCache({ blob: Buffer.from("this is not an archive"), size: 22 });
  const r2 = await restoreFrom(notGzip);
  assert.equal(r2.seen, ".\n");
});

attack("a cache-mount entry whose annotations name paths is only ever a name", async (c) => {
  const cache = await hostileCache(gzipLayer(rawTar([{ name: "f", content: "ok" }])), {
    "polyarch.cache-mount.id": `../../../..${c.tmpDir}`,
    "polyarch.cache-mount.platform": "linux/amd64/../../../../etc",
  });
  const r = await restoreFrom(cache);
  // Not the step's mount (another id, a platform that is none): nothing restored, nothing touched.
  assert.equal(r.seen, ".\n");
});
