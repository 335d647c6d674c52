// polyarch's local image store (issue 10, item 2) through the CLI: `-t NAME` keeps a multi-platform image,
// `polyarch images` lists it, tag/push/save/rmi work on it, and a later build `FROM NAME` uses it offline.
import assert from "node:assert/strict";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { runOk } from "../../harness/exec.ts";
import { pushBusyboxImage } from "../../harness/images.ts";
import { startRegistry, type TestRegistry } from "../../harness/registry.ts";
import { polyarch, tempStateRoot } from "../../support/cli.ts";

let reg: TestRegistry;
let state: Awaited<ReturnType<typeof tempStateRoot>>;
let work: string;

before(async () => {
  reg = await startRegistry();
  await pushBusyboxImage(reg);
  state = await tempStateRoot();
  work = await mkdtemp(join(tmpdir(), "polyarch-images-"));
});
after(async () => {
  await reg?.stop();
  await state?.[Symbol.asyncDispose]();
  if (work) await rm(work, { recursive: true, force: true });
});

const env = () => ({ POLYARCH_ROOT: state.dir, DOCKER_CONFIG: join(work, "docker-config") });
const cli = (args: string[]) => polyarch(args, { env: env() });

async function context(name: string, dockerfile: string, files: Record<string, string> = {}) {
  const dir = join(work, name);
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, "Dockerfile"), dockerfile);
  for (const [f, text] of Object.entries(files)) await writeFile(join(dir, f), text);
  return dir;
}

interface Row {
  name: string;
  digest: string;
  platforms: string;
  size: number;
  created: string;
}

const images = async (): Promise<Row[]> => {
  const r = await cli(["images", "--format", "json"]);
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout) as Row[];
};

let digest = "";

test("-t NAME keeps the multi-platform image; polyarch images lists it", async () => {
  const dir = await context("base", `FROM ${reg.host}/library/busybox:latest\nCOPY app.txt /app.txt\n`, {
    "app.txt": "built by the first build\n",
  });
  const iid = join(work, "iid");
  const r = await cli([
    "build",
    "--progress",
    "plain",
    "--platform",
    "linux/amd64,linux/arm64",
    "-t",
    "myapp:1",
    "--iidfile",
    iid,
    dir,
  ]);
  assert.equal(r.code, 0, r.stderr.slice(-3000));
  digest = (await readFile(iid, "utf8")).trim();
  const [row, ...rest] = await images();
  assert.equal(rest.length, 0);
  assert.equal(row?.name, "docker.io/library/myapp:1");
  assert.equal(row?.digest, digest);
  assert.equal(row?.platforms, "linux/amd64,linux/arm64");
  assert.ok(row!.size > 1_000_000, `size ${row?.size} counts the busybox layers`);
  assert.ok(Math.abs(Date.parse(row!.created) - Date.now()) < 3_600_000, row?.created);
  const table = await cli(["images"]);
  assert.match(table.stdout, /^NAME\s+DIGEST\s+PLATFORMS\s+SIZE\s+CREATED\n/);
  assert.match(table.stdout, /docker\.io\/library\/myapp:1\s+sha256:\S+\s+linux\/amd64,linux\/arm64\s+\d/);
});

test("tag and push: the registry serves the stored index under the new name", async () => {
  const target = `${reg.host}/team/myapp:pushed`;
  assert.equal((await cli(["tag", "myapp:1", target])).code, 0);
  const r = await cli(["push", target]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout.trim(), `${target}@${digest}`);
  const raw = await runOk("skopeo", ["inspect", "--raw", "--tls-verify=false", `docker://${target}`]);
  const index = JSON.parse(raw.stdout) as { manifests: { platform: { architecture: string } }[] };
  // The platforms, then their attestation manifests (the default min provenance, as buildx adds it).
  assert.deepEqual(
    index.manifests.map((m) => m.platform.architecture),
    ["amd64", "arm64", "unknown", "unknown"],
  );
});

test("with the registry gone, FROM NAME and COPY --from=NAME use the stored image", async () => {
  await reg.stop();
  const dir = await context(
    "child",
    "FROM myapp:1 AS base\nFROM myapp:1\nCOPY --from=myapp:1 /app.txt /copied.txt\nRUN cat /app.txt /copied.txt > /both.txt\n",
  );
  const out = join(work, "child-out");
  const r = await cli(["build", "--progress", "plain", "--platform", "linux/arm64", "-o", out, dir]);
  assert.equal(r.code, 0, r.stderr.slice(-3000));
  assert.equal(
    await readFile(join(out, "both.txt"), "utf8"),
    "built by the first build\nbuilt by the first build\n",
  );
});

test("save: a docker archive of one platform, an OCI archive of every platform", async () => {
  const dockerTar = join(work, "arm.tar");
  const one = await cli(["save", "-o", dockerTar, "--platform", "linux/arm64", "myapp:1"]);
  assert.equal(one.code, 0, one.stderr);
  const manifest = await runOk("tar", ["-xOf", dockerTar, "manifest.json"]);
  assert.deepEqual(JSON.parse(manifest.stdout)[0].RepoTags, ["myapp:1"]);
  const cfg = await runOk("skopeo", ["inspect", "--config", `docker-archive:${dockerTar}`]);
  assert.equal(JSON.parse(cfg.stdout).architecture, "arm64");

  const ociTar = join(work, "all.tar");
  assert.equal((await cli(["save", "-o", ociTar, "myapp:1"])).code, 0);
  const raw = await runOk("skopeo", ["inspect", "--raw", `oci-archive:${ociTar}`]);
  // Every platform, and the attestation manifests the stored index holds, with their blobs.
  const saved = JSON.parse(raw.stdout) as { manifests: { digest: string; platform: { os: string } }[] };
  assert.deepEqual(
    saved.manifests.map((m) => m.platform.os),
    ["linux", "linux", "unknown", "unknown"],
  );
  const att = saved.manifests[2]!.digest.slice("sha256:".length);
  const attManifest = await runOk("tar", ["-xOf", ociTar, `blobs/sha256/${att}`]);
  const layer = (JSON.parse(attManifest.stdout) as { layers: { digest: string }[] }).layers[0]!;
  await runOk("tar", ["-tf", ociTar, `blobs/sha256/${layer.digest.slice("sha256:".length)}`]);

  const bad = await cli(["save", "-o", join(work, "x.tar"), "--format", "docker", "myapp:1"]);
  assert.equal(bad.code, 1);
  assert.match(
    bad.stderr,
    /a docker archive holds one platform, and docker\.io\/library\/myapp:1 has linux\/amd64,linux\/arm64/,
  );
});

test("rmi removes the name; an unknown name is a clear error", async () => {
  const r = await cli(["rmi", "myapp:1"]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, "Untagged: docker.io/library/myapp:1\n");
  assert.deepEqual(
    (await images()).map((i) => i.name),
    [`${reg.host}/team/myapp:pushed`],
  );
  const missing = await cli(["rmi", "myapp:1"]);
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /no image docker\.io\/library\/myapp:1 in polyarch's image store/);
  assert.match(missing.stderr, /polyarch images/);
});
