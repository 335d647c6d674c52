// buildx's smaller build flags (issue 10, item 5) through the CLI: --annotation with every prefix, -q and
// --progress=quiet printing the image id, --iidfile's id, --metadata-file's buildx keys, the no-output
// warning and --platform local. The builds need no base image (FROM scratch), so no emulator runs.
import assert from "node:assert/strict";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { polyarch, tempStateRoot } from "../../support/cli.ts";

let work: string;
let ctx: string;
let state: Awaited<ReturnType<typeof tempStateRoot>>;
const env = () => ({ POLYARCH_ROOT: state.dir, DOCKER_CONFIG: join(work, "docker") });

before(async () => {
  work = await mkdtemp(join(tmpdir(), "polyarch-buildx-flags-"));
  state = await tempStateRoot();
  ctx = join(work, "ctx");
  await mkdir(ctx);
  await writeFile(join(ctx, "Dockerfile"), "FROM scratch\nCOPY hello.txt /hello.txt\n");
  await writeFile(join(ctx, "hello.txt"), "hello\n");
});
after(async () => {
  await state?.[Symbol.asyncDispose]();
  if (work) await rm(work, { recursive: true, force: true });
});

interface Desc {
  digest: string;
  annotations?: Record<string, string>;
  platform?: { architecture: string };
}

async function layoutJson<T>(dir: string, digest: string): Promise<T> {
  return JSON.parse(await readFile(join(dir, "blobs/sha256", digest.slice(7)), "utf8")) as T;
}

async function rootOf(dir: string): Promise<Desc> {
  return (JSON.parse(await readFile(join(dir, "index.json"), "utf8")) as { manifests: Desc[] }).manifests[0]!;
}

test("--annotation puts each prefix where buildx puts it: manifest (default), manifest[PLATFORM], index, descriptors", async () => {
  const out = join(work, "annotated");
  const r = await polyarch(
    [
      "build",
      "--platform",
      "linux/amd64,linux/arm64",
      "--annotation",
      "org.example.all=yes",
      "--annotation",
      "manifest[linux/arm64]:org.example.arm=only",
      "--annotation",
      "index:org.example.index=1",
      "--annotation",
      "manifest-descriptor:org.example.entry=e",
      "--annotation",
      "index-descriptor:org.example.root=r",
      "-o",
      `type=oci,dest=${out},tar=false`,
      ctx,
    ],
    { env: env() },
  );
  assert.equal(r.code, 0, r.stderr);
  const root = await rootOf(out);
  assert.equal(root.annotations?.["org.example.root"], "r");
  const index = await layoutJson<{ annotations?: Record<string, string>; manifests: Desc[] }>(
    out,
    root.digest,
  );
  assert.equal(index.annotations?.["org.example.index"], "1");
  for (const entry of index.manifests) {
    assert.equal(entry.annotations?.["org.example.entry"], "e");
    const manifest = await layoutJson<{ annotations?: Record<string, string> }>(out, entry.digest);
    assert.equal(manifest.annotations?.["org.example.all"], "yes");
    assert.equal(
      manifest.annotations?.["org.example.arm"],
      entry.platform?.architecture === "arm64" ? "only" : undefined,
    );
    assert.equal(manifest.annotations?.["index:org.example.index"], undefined);
  }
  const bad = await polyarch(
    ["build", "--annotation", "nonsense:k=v", "-o", `type=oci,dest=${join(work, "x")},tar=false`, ctx],
    {
      env: env(),
    },
  );
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /^error: invalid --annotation "nonsense:k=v": unknown type "nonsense"/m);
});

test("-q and --progress=quiet print the image id; --iidfile holds it: the config digest of one image, else the index digest", async () => {
  const single = join(work, "single");
  const iid = join(work, "iid");
  const q = await polyarch(
    ["build", "-q", "--iidfile", iid, "-o", `type=oci,dest=${single},tar=false`, ctx],
    { env: env() },
  );
  assert.equal(q.code, 0, q.stderr);
  const manifest = await layoutJson<{ config: { digest: string } }>(single, (await rootOf(single)).digest);
  assert.equal(q.stdout, `${manifest.config.digest}\n`);
  assert.equal(await readFile(iid, "utf8"), manifest.config.digest);
  assert.doesNotMatch(q.stderr, /COPY hello\.txt/, "quiet shows no steps");

  const multi = join(work, "multi");
  const p = await polyarch(
    [
      "build",
      "--progress=quiet",
      "--platform",
      "linux/amd64,linux/arm64",
      "--iidfile",
      iid,
      "-o",
      `type=oci,dest=${multi},tar=false`,
      ctx,
    ],
    { env: env() },
  );
  assert.equal(p.code, 0, p.stderr);
  const root = await rootOf(multi);
  assert.equal(p.stdout, `${root.digest}\n`);
  assert.equal(await readFile(iid, "utf8"), root.digest);
});

test("--metadata-file has buildx.build.ref; a build without outputs warns; --platform local is this machine's", async () => {
  const meta = join(work, "meta.json");
  const r = await polyarch(["build", "--metadata-file", meta, "--platform", "local", ctx], { env: env() });
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /WARNING: No output specified/);
  const metadata = JSON.parse(await readFile(meta, "utf8")) as Record<string, unknown>;
  assert.match(String(metadata["buildx.build.ref"]), /^polyarch\/local\/[a-z0-9]{25}$/);
  // As buildx writes it (from BuildKit's build history) for every build, attested or not.
  assert.equal(
    (metadata["buildx.build.provenance"] as { buildType?: string } | undefined)?.buildType,
    "https://mobyproject.org/buildkit@v1",
  );
  assert.match(String(metadata["containerimage.digest"]), /^sha256:/);

  const out = join(work, "local");
  const l = await polyarch(["build", "--platform", "local", "-o", `type=oci,dest=${out},tar=false`, ctx], {
    env: env(),
  });
  assert.equal(l.code, 0, l.stderr);
  assert.doesNotMatch(l.stderr, /No output specified/);
  const m = await layoutJson<{ config: { digest: string } }>(out, (await rootOf(out)).digest);
  const config = await layoutJson<{ architecture: string }>(out, m.config.digest);
  assert.equal(config.architecture, process.arch === "x64" ? "amd64" : process.arch);
});
