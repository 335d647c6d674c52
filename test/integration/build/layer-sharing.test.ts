// A layer's bytes depend only on its content: the same COPY on two platforms is one blob in the OCI
// archive (compressed once), and the directories a COPY makes get the same time in two clean builds.
// Through the CLI, reading the archive as any OCI tool would.
import assert from "node:assert/strict";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { runOk } from "../../harness/exec.ts";
import { pushBusyboxImage } from "../../harness/images.ts";
import { startRegistry, type TestRegistry } from "../../harness/registry.ts";
import { polyarch } from "../../support/cli.ts";

let reg: TestRegistry;
let base: string;
let dir: string;
before(async () => {
  reg = await startRegistry();
  base = (await pushBusyboxImage(reg)).ref;
  dir = await mkdtemp(join(tmpdir(), "polyarch-layer-sharing-"));
});
after(async () => {
  await reg?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

interface Layer {
  digest: string;
  /** path → "mode mtime" as `tar -tv --full-time` shows them. */
  entries: Map<string, string>;
}

/** Each platform's layers (architecture → layers) of an OCI archive, and the blob files it holds. */
async function readArchive(tar: string): Promise<{ layers: Map<string, Layer[]>; blobs: string[] }> {
  const out = await mkdtemp(join(dir, "oci-"));
  await runOk("tar", ["-xf", tar, "-C", out]);
  const json = async (digest: string) =>
    JSON.parse(await readFile(join(out, "blobs", ...digest.split(":")), "utf8")) as unknown;
  const top = JSON.parse(await readFile(join(out, "index.json"), "utf8")) as {
    manifests: { digest: string }[];
  };
  const index = (await json(top.manifests[0]!.digest)) as {
    manifests: { digest: string; platform: { architecture: string } }[];
  };
  const layers = new Map<string, Layer[]>();
  for (const m of index.manifests) {
    const manifest = (await json(m.digest)) as { layers: { digest: string }[] };
    const list: Layer[] = [];
    for (const l of manifest.layers) {
      const listing = await runOk("tar", [
        "--full-time",
        "--utc",
        "-tvzf",
        join(out, "blobs", ...l.digest.split(":")),
      ]);
      const entries = new Map<string, string>();
      for (const line of listing.stdout.split("\n").filter(Boolean)) {
        const f = line.split(/\s+/);
        entries.set(f.slice(5).join(" "), `${f[0]} ${f[3]} ${f[4]}`);
      }
      list.push({ digest: l.digest, entries });
    }
    layers.set(m.platform.architecture, list);
  }
  const { stdout } = await runOk("ls", [join(out, "blobs", "sha256")]);
  return { layers, blobs: stdout.split("\n").filter(Boolean) };
}

async function context(name: string, dockerfile: string): Promise<string> {
  const ctx = join(dir, name);
  await mkdir(join(ctx, "app", "lib"), { recursive: true });
  await writeFile(join(ctx, "app", "main.sh"), "echo hello\n");
  await writeFile(join(ctx, "app", "lib", "util.sh"), "true\n");
  await writeFile(join(ctx, "one.txt"), "one\n");
  await writeFile(join(ctx, "Dockerfile"), dockerfile);
  return ctx;
}

async function build(ctx: string, state: string, tar: string): Promise<void> {
  const r = await polyarch(
    ["build", "--progress=plain", "--platform", "linux/amd64,linux/arm64", "-o", `type=oci,dest=${tar}`, ctx],
    { env: { POLYARCH_ROOT: state } },
  );
  assert.equal(r.code, 0, r.stderr);
}

test("the same COPY on two platforms is one blob in the OCI archive, made directories included", async () => {
  // arm64 reaches the COPYs seconds later than amd64, so the wall clock differs between the two copies.
  const ctx = await context(
    "two-platforms",
    `FROM ${base}\nARG TARGETARCH\nRUN [ "$TARGETARCH" != arm64 ] || sleep 2\n` +
      "COPY app/ /opt/service/app/\nCOPY one.txt /srv/data/\n",
  );
  const tar = join(dir, "two.tar");
  await build(ctx, join(dir, "state-two"), tar);
  const { layers, blobs } = await readArchive(tar);
  const amd = layers.get("amd64")!.slice(-2);
  const arm = layers.get("arm64")!.slice(-2);
  assert.ok(amd[0]!.entries.has("opt/service/app/main.sh"), [...amd[0]!.entries.keys()].join(" "));
  assert.ok(amd[1]!.entries.has("srv/data/one.txt"), [...amd[1]!.entries.keys()].join(" "));
  assert.deepEqual(
    arm.map((l) => l.digest),
    amd.map((l) => l.digest),
    "both platforms' manifests list the same COPY layers",
  );
  for (const l of amd) assert.ok(blobs.includes(l.digest.split(":")[1]!), `${l.digest} is in the archive`);
});

test("a directory made by COPY has the same time in two clean builds without SOURCE_DATE_EPOCH", async () => {
  const ctx = await context(
    "clean-builds",
    `FROM ${base}\nCOPY app/ /opt/service/app/\nCOPY one.txt /srv/data/\n`,
  );
  const seen: Layer[][] = [];
  for (const run of [1, 2]) {
    const tar = join(dir, `clean-${run}.tar`);
    await build(ctx, join(dir, `state-clean-${run}`), tar);
    seen.push((await readArchive(tar)).layers.get("amd64")!.slice(-2));
    // The second build starts in another second of the wall clock.
    await sleep(1100);
  }
  const [first, second] = seen as [Layer[], Layer[]];
  for (const path of ["opt/", "opt/service/", "srv/", "srv/data/"]) {
    const layer = path.startsWith("opt") ? 0 : 1;
    const a = first[layer]!.entries.get(path);
    assert.ok(a !== undefined, `${path} is in the layer`);
    assert.equal(second[layer]!.entries.get(path), a, `${path}: same mode and time in both builds`);
  }
  assert.deepEqual(
    second.map((l) => l.digest),
    first.map((l) => l.digest),
    "the COPY layers are byte-identical",
  );
});
