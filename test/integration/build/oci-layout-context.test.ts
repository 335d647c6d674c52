// `--build-context NAME=oci-layout://PATH[:TAG|@DIGEST]` through the CLI, without a registry: which index.json
// entry a tag or digest picks, and the errors a user gets for a name or digest the layout does not have.
import assert from "node:assert/strict";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import type { Descriptor } from "../../../src/oci/descriptor.ts";
import { FixtureLayout } from "../../harness/fixture-layout.ts";
import { polyarch } from "../../support/cli.ts";

let dir: string;
let layout: string;
let ctx: string;
const images: Record<string, Descriptor> = {};
let seq = 0;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), "polyarch-oci-context-"));
  layout = join(dir, "layout");
  const l = await new FixtureLayout(layout).init();
  for (const name of ["one", "two"]) {
    const layer = await l.writeLayer([
      { path: "f", type: "file", mode: 0o644, content: Buffer.from(`${name}\n`) },
    ]);
    const { manifest } = await l.writeImage({ os: "linux", architecture: "amd64" }, [
      { ...layer, createdBy: name },
    ]);
    images[name] = manifest;
    l.tag(name, manifest);
  }
  await l.finish();
  ctx = join(dir, "ctx");
  await mkdir(ctx);
  await writeFile(join(ctx, "Dockerfile"), "FROM scratch\nCOPY --from=base /f /f\n");
});
after(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

async function build(value: string) {
  const n = ++seq;
  const out = join(dir, `out-${n}`);
  const r = await polyarch(
    ["build", "--progress=plain", "--build-context", `base=${value}`, "-o", `type=local,dest=${out}`, ctx],
    { env: { POLYARCH_ROOT: join(dir, "state") } },
  );
  return { ...r, out };
}

test("a tag and a digest pick their entry; the build needs no registry", async () => {
  const byTag = await build(`oci-layout://${layout}:two`);
  assert.equal(byTag.code, 0, byTag.stderr);
  assert.equal(await readFile(join(byTag.out, "f"), "utf8"), "two\n");
  const byDigest = await build(`oci-layout://${layout}@${images.one!.digest}`);
  assert.equal(byDigest.code, 0, byDigest.stderr);
  assert.equal(await readFile(join(byDigest.out, "f"), "utf8"), "one\n");
});

test("a tag or digest the layout does not have is a clear error naming what it has", async () => {
  // No tag means latest; with two entries there is no single one to fall back on.
  const noLatest = await build(`oci-layout://${layout}`);
  assert.equal(noLatest.code, 1);
  assert.match(noLatest.stderr, /the layout has no image tagged "latest"/);
  assert.match(noLatest.stderr, /hint: its tags: one, two/);
  const missing = await build(`oci-layout://${layout}@sha256:${"1".repeat(64)}`);
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /the layout has no blob sha256:1{64}/);
  const notLayout = await build(`oci-layout://${ctx}`);
  assert.equal(notLayout.code, 1);
  assert.match(notLayout.stderr, /is not an OCI image layout/);
  for (const r of [noLatest, missing, notLayout]) assert.doesNotMatch(r.stderr, /looks like a bug|\n\s+at /);
});
