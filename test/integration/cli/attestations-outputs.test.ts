// Attestations beyond the image outputs: --metadata-file's buildx.build.provenance, the in-toto statements
// type=local and type=tar write beside the files, and referrers kept in the image store.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { lstat, mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import Ajv2020 from "ajv/dist/2020.js";
import addFormats from "ajv-formats";
import { runOk } from "../../harness/exec.ts";
import { pushBusyboxImage } from "../../harness/images.ts";
import { startRegistry, type TestRegistry } from "../../harness/registry.ts";
import { polyarch, tempStateRoot } from "../../support/cli.ts";

// biome-ignore lint/suspicious/noExplicitAny: JSON documents read back as they were written
type Doc = any;

const schemas = new URL("../../fixtures/schemas/", import.meta.url).pathname;
const ajv = new Ajv2020.default({ strict: false, allErrors: true });
addFormats.default(ajv);
const schema = (name: string) => ajv.compile<Doc>(JSON.parse(readFileSync(join(schemas, name), "utf8")));
const validStatement = schema("in-toto-statement-v0.1.schema.json");
const validProvenance = schema("slsa-provenance-v1.schema.json");
const validSpdx = schema("spdx-2.3.schema.json");

let reg: TestRegistry;
let state: Awaited<ReturnType<typeof tempStateRoot>>;
let base: { ref: string; digest: string };
let ctx: string;
let work: string;

before(async () => {
  reg = await startRegistry();
  state = await tempStateRoot();
  base = await pushBusyboxImage(reg);
  work = await mkdtemp(join(tmpdir(), "attest-out-"));
  ctx = join(work, "ctx");
  await mkdir(join(ctx, "d/e"), { recursive: true });
  await writeFile(join(ctx, "a.txt"), "hello\n");
  await writeFile(join(ctx, "d/e/f"), "z\n");
  await writeFile(join(ctx, "Dockerfile"), `FROM ${base.ref}\nARG FOO\nCOPY a.txt /a.txt\nCOPY d /d\n`);
});
after(async () => {
  await reg?.stop();
  await state?.[Symbol.asyncDispose]();
  if (work) await rm(work, { recursive: true, force: true });
});

const env = (extra: Record<string, string> = {}) => ({
  POLYARCH_ROOT: state.dir,
  DOCKER_CONFIG: state.dir,
  ...extra,
});

const sha256 = (b: Buffer) => createHash("sha256").update(b).digest("hex");

async function metadataOf(args: string[], extraEnv: Record<string, string> = {}): Promise<Doc> {
  const file = join(work, `md-${Math.random().toString(36).slice(2)}.json`);
  const r = await polyarch(["build", ...args, "--metadata-file", file, ctx], { env: env(extraEnv) });
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(await readFile(file, "utf8"));
}

test("--metadata-file: buildx.build.provenance is the build's v0.2 provenance (min unless BUILDX_METADATA_PROVENANCE=max), even with --provenance=false", async () => {
  const md = await metadataOf([
    "--platform",
    "linux/arm64",
    "--provenance=false",
    "--build-arg",
    "FOO=bar",
    "--build-arg",
    "HTTPS_PROXY=http://user:secret@proxy:3128",
    "-t",
    "md:one",
  ]);
  const prv = md["buildx.build.provenance"];
  assert.ok(prv, JSON.stringify(Object.keys(md)));
  // buildx drops an empty builder id, and buildConfig and metadata in min mode.
  assert.deepEqual(Object.keys(prv).sort(), ["buildType", "invocation", "materials"]);
  assert.equal(prv.buildType, "https://mobyproject.org/buildkit@v1");
  assert.deepEqual(prv.materials, [
    {
      uri: `pkg:docker/${encodeURIComponent(reg.host)}/library/busybox@latest?platform=linux%2Farm64`,
      digest: { sha256: base.digest.slice("sha256:".length) },
    },
  ]);
  assert.deepEqual(prv.invocation.configSource, { entryPoint: "Dockerfile" });
  // The history record's provenance is max mode: the build args are there (never the proxy ones).
  assert.deepEqual(prv.invocation.parameters, {
    frontend: "dockerfile.v0",
    args: { "build-arg:FOO": "bar" },
    locals: [{ name: "context" }, { name: "dockerfile" }],
  });
  // The builder's platform, as BuildKit records it for every target platform.
  assert.deepEqual(prv.invocation.environment, { platform: "linux/amd64" });
  assert.doesNotMatch(JSON.stringify(md), /secret/);
  // No attestation: the image is one manifest, with its config digest (buildx's image id).
  assert.match(md["containerimage.config.digest"], /^sha256:/);

  // One platform with its (default) provenance is an index: as BuildKit, no config digest then, and -q
  // prints the index digest, as buildx does.
  const attested = await metadataOf(["--platform", "linux/arm64", "-q", "-t", "md:attested"]);
  assert.equal(attested["containerimage.descriptor"].mediaType, "application/vnd.oci.image.index.v1+json");
  assert.equal(attested["containerimage.config.digest"], undefined);
  assert.ok(attested["buildx.build.provenance"]);

  const max = await metadataOf(["--platform", "linux/amd64,linux/arm64", "-t", "md:two"], {
    BUILDX_METADATA_PROVENANCE: "max",
  });
  assert.equal(max["buildx.build.provenance"], undefined);
  for (const platform of ["linux/amd64", "linux/arm64"]) {
    const p = max[`buildx.build.provenance/${platform}`];
    assert.ok(p, `${platform}: ${JSON.stringify(Object.keys(max))}`);
    assert.deepEqual(Object.keys(p).sort(), [
      "buildConfig",
      "buildType",
      "invocation",
      "materials",
      "metadata",
    ]);
    assert.ok(p.buildConfig.llbDefinition.length >= 3);
    assert.match(p.metadata.buildInvocationID, /^[0-9a-z]{25}$/);
    assert.ok(Date.parse(p.metadata.buildStartedOn) <= Date.parse(p.metadata.buildFinishedOn));
    assert.deepEqual(p.metadata.completeness, { parameters: true, environment: true, materials: false });
    const info = p.metadata["https://mobyproject.org/buildkit@v1#metadata"].source.infos[0];
    assert.equal(Buffer.from(info.data, "base64").toString(), readFileSync(join(ctx, "Dockerfile"), "utf8"));
  }

  const off = await metadataOf(["-t", "md:three"], { BUILDX_METADATA_PROVENANCE: "disabled" });
  assert.deepEqual(
    Object.keys(off).filter((k) => k.startsWith("buildx.build.provenance")),
    [],
  );
  assert.ok(off["buildx.build.ref"]);
});

test("type=local and type=tar: the asked-for statements are files beside each platform's files (provenance.json, sbom.spdx.json)", async () => {
  const dest = join(work, "local");
  const r = await polyarch(
    [
      "build",
      "--platform",
      "linux/amd64,linux/arm64",
      "--provenance=mode=max",
      "--sbom=true",
      "-o",
      `type=local,dest=${dest}`,
      ctx,
    ],
    { env: env() },
  );
  assert.equal(r.code, 0, r.stderr);
  const busybox = sha256(await readFile(join(dest, "linux_amd64/bin/busybox")));
  for (const sub of ["linux_amd64", "linux_arm64"]) {
    const own = { "a.txt": "hello\n", "d/e/f": "z\n" };
    const statement = JSON.parse(await readFile(join(dest, sub, "provenance.json"), "utf8"));
    const names = statement.subject.map((s: Doc) => s.name);
    assert.ok(names.includes("a.txt") && names.includes("d/e/f"), names.join(","));
    const files: Record<string, string> = {};
    for (const name of names) files[name] = (await readFile(join(dest, sub, name))).toString("latin1");
    assert.equal(Object.keys(files).length, names.length);
    for (const [k, v] of Object.entries(own)) assert.equal(files[k], v);
    const bin = statement.subject.find((s: Doc) => s.name === "bin/busybox");
    if (sub === "linux_amd64") assert.equal(bin.digest.sha256, busybox);
    // In walk order: names sorted by bytes within each directory, parents first.
    const sorted = [...names].sort((a: string, b: string) => {
      const [x, y] = [a.split("/"), b.split("/")];
      for (let i = 0; i < Math.min(x.length, y.length); i++) {
        if (x[i] !== y[i]) return Buffer.compare(Buffer.from(x[i]!), Buffer.from(y[i]!));
      }
      return x.length - y.length;
    });
    assert.deepEqual(names, sorted);
    const sbom = JSON.parse(await readFile(join(dest, sub, "sbom.spdx.json"), "utf8"));
    assert.deepEqual(sbom.subject, statement.subject);
    assert.ok(validSpdx(sbom.predicate), JSON.stringify(validSpdx.errors));
    assert.ok(validProvenance(statement.predicate), JSON.stringify(validProvenance.errors));
  }

  // One platform, type=tar: the files at the top of the tar, the statement beside them.
  const tarFile = join(work, "out.tar");
  const t = await polyarch(
    [
      "build",
      "--platform",
      "linux/arm64",
      "--attest",
      "type=provenance,mode=min",
      "-o",
      `type=tar,dest=${tarFile}`,
      ctx,
    ],
    { env: env() },
  );
  assert.equal(t.code, 0, t.stderr);
  const x = join(work, "tar-x");
  await mkdir(x);
  await runOk("tar", ["-xf", tarFile, "-C", x]);
  const listed = (await runOk("tar", ["-tvf", tarFile])).stdout;
  assert.match(listed, /^-rw------- 0\/0 .* provenance\.json$/m);
  const statement = JSON.parse(await readFile(join(x, "provenance.json"), "utf8"));
  const own = statement.subject.filter((s: Doc) => ["a.txt", "d/e/f"].includes(s.name));
  assert.deepEqual(own, [
    { name: "a.txt", digest: { sha256: sha256(Buffer.from("hello\n")) } },
    { name: "d/e/f", digest: { sha256: sha256(Buffer.from("z\n")) } },
  ]);
  assert.ok(validStatement(statement), JSON.stringify(validStatement.errors));

  // The default min provenance nobody asked for stays off the files (buildx's inline-only).
  const plain = join(work, "plain");
  const p = await polyarch(["build", "-o", `type=local,dest=${plain}`, ctx], { env: env() });
  assert.equal(p.code, 0, p.stderr);
  await assert.rejects(lstat(join(plain, "provenance.json")), { code: "ENOENT" });

  // platform-split=false: one tree, a statement per platform named for it, as BuildKit names them.
  const merged = join(work, "merged");
  const m = await polyarch(
    [
      "build",
      "--platform",
      "linux/amd64,linux/arm64",
      "--provenance=mode=min",
      "-o",
      `type=local,dest=${merged},platform-split=false`,
      ctx,
    ],
    { env: env() },
  );
  assert.equal(m.code, 0, m.stderr);
  for (const name of ["provenance.linux_amd64.json", "provenance.linux_arm64.json"]) {
    const s = JSON.parse(await readFile(join(merged, name), "utf8"));
    assert.ok(s.subject.some((x: Doc) => x.name === "a.txt"));
  }
  await assert.rejects(lstat(join(merged, "provenance.json")), { code: "ENOENT" });
});

async function registryJson(path: string): Promise<Doc> {
  const res = await fetch(`${reg.url}${path}`, {
    headers: {
      accept: "application/vnd.oci.image.index.v1+json, application/vnd.oci.image.manifest.v1+json",
    },
  });
  assert.equal(res.status, 200, path);
  return JSON.parse(Buffer.from(await res.arrayBuffer()).toString("utf8"));
}

test("style=referrers kept in the image store: a later polyarch push sends them, tag and save keep them", async () => {
  const name = reg.ref("attest/kept:1");
  const r = await polyarch(
    [
      "build",
      "--platform",
      "linux/amd64,linux/arm64",
      "--attest",
      "type=provenance,mode=min,style=referrers",
      "--sbom=style=referrers",
      "-t",
      name,
      ctx,
    ],
    { env: env() },
  );
  assert.equal(r.code, 0, r.stderr);
  // Nothing in the registry yet; then a GC of the store must not take the referrers away.
  const gc = await polyarch(["prune", "--all", "--force"], { env: env() });
  assert.equal(gc.code, 0, gc.stderr);
  const tagged = reg.ref("attest/kept:2");
  const t = await polyarch(["tag", name, tagged], { env: env() });
  assert.equal(t.code, 0, t.stderr);
  const p = await polyarch(["push", tagged], { env: { ...env(), ...reg.env() } });
  assert.equal(p.code, 0, p.stderr);

  const index = await registryJson("/v2/attest/kept/manifests/2");
  assert.deepEqual(
    index.manifests.map((m: Doc) => m.platform.architecture),
    ["amd64", "arm64"],
  );
  for (const image of index.manifests) {
    // Distribution 2.8: the referrers tag schema holds them.
    const referrers = await registryJson(`/v2/attest/kept/manifests/sha256-${image.digest.slice(7)}`);
    assert.equal(referrers.manifests.length, 1);
    const artifact = await registryJson(`/v2/attest/kept/manifests/${referrers.manifests[0].digest}`);
    assert.equal(artifact.subject.digest, image.digest);
    const types = artifact.layers.map((l: Doc) => l.annotations["in-toto.io/predicate-type"]);
    assert.deepEqual(types, ["https://slsa.dev/provenance/v1", "https://spdx.dev/Document"]);
    const sbom = await registryJson(`/v2/attest/kept/blobs/${artifact.layers[1].digest}`);
    assert.ok(validSpdx(sbom.predicate), JSON.stringify(validSpdx.errors));
  }

  // save: the OCI archive lists each referrer untagged in index.json, its blobs present.
  const out = join(work, "kept.tar");
  const s = await polyarch(["save", "--format", "oci", "-o", out, name], { env: env() });
  assert.equal(s.code, 0, s.stderr);
  const x = join(work, "kept-x");
  await mkdir(x);
  await runOk("tar", ["-xf", out, "-C", x]);
  const top = JSON.parse(await readFile(join(x, "index.json"), "utf8"));
  const artifacts = top.manifests.filter((m: Doc) => m.artifactType === "application/vnd.in-toto+json");
  assert.equal(artifacts.length, 2);
  for (const a of artifacts) {
    const m = JSON.parse(await readFile(join(x, "blobs/sha256", a.digest.slice(7)), "utf8"));
    assert.ok(index.manifests.some((i: Doc) => i.digest === m.subject.digest));
    for (const l of m.layers) await lstat(join(x, "blobs/sha256", l.digest.slice(7)));
  }
  // One platform saved: only its referrer goes with it.
  const one = join(work, "kept-arm64.tar");
  const o = await polyarch(["save", "--format", "oci", "--platform", "linux/arm64", "-o", one, name], {
    env: env(),
  });
  assert.equal(o.code, 0, o.stderr);
  const listing = (await runOk("tar", ["-xOf", one, "index.json"])).stdout;
  assert.equal(
    JSON.parse(listing).manifests.filter((m: Doc) => m.artifactType === "application/vnd.in-toto+json")
      .length,
    1,
  );
});

test("BUILDKIT_SBOM_SCAN_CONTEXT / scan-context=true: a second SPDX document, sbom-context, lists the context's packages", async () => {
  const context = join(work, "scan-ctx");
  await mkdir(join(context, "node_modules/left-pad"), { recursive: true });
  await writeFile(
    join(context, "node_modules/left-pad/package.json"),
    JSON.stringify({ name: "left-pad", version: "1.3.0" }),
  );
  await writeFile(join(context, "a.txt"), "a\n");
  // Only a.txt goes into the image: left-pad is in the context alone.
  await writeFile(
    join(context, "Dockerfile"),
    "FROM scratch\nARG BUILDKIT_SBOM_SCAN_CONTEXT=true\nCOPY a.txt /\n",
  );
  const dest = join(work, "scan-local");
  const r = await polyarch(["build", "--sbom=true", "-o", `type=local,dest=${dest}`, context], {
    env: env(),
  });
  assert.equal(r.code, 0, r.stderr);
  const purls = (doc: Doc) =>
    doc.predicate.packages.flatMap((p: Doc) => (p.externalRefs ?? []).map((e: Doc) => e.referenceLocator));
  const image = JSON.parse(await readFile(join(dest, "sbom.spdx.json"), "utf8"));
  const ctxDoc = JSON.parse(await readFile(join(dest, "sbom-context.spdx.json"), "utf8"));
  assert.ok(validSpdx(ctxDoc.predicate), JSON.stringify(validSpdx.errors));
  assert.deepEqual(purls(image), []);
  assert.deepEqual(purls(ctxDoc), ["pkg:npm/left-pad@1.3.0"]);
  assert.deepEqual(ctxDoc.subject, image.subject);

  // A build arg turns it off (it overrides the declared ARG); scan-context=true turns it on without one.
  const off = join(work, "scan-off");
  const o = await polyarch(
    [
      "build",
      "--sbom=true",
      "--build-arg",
      "BUILDKIT_SBOM_SCAN_CONTEXT=false",
      "-o",
      `type=local,dest=${off}`,
      context,
    ],
    { env: env() },
  );
  assert.equal(o.code, 0, o.stderr);
  await assert.rejects(lstat(join(off, "sbom-context.spdx.json")), { code: "ENOENT" });
  await writeFile(join(context, "Dockerfile"), "FROM scratch\nCOPY a.txt /\n");
  const tar = join(work, "scan.tar");
  const t = await polyarch(
    ["build", "--attest", "type=sbom,scan-context=true", "-o", `type=oci,dest=${tar}`, context],
    { env: env() },
  );
  assert.equal(t.code, 0, t.stderr);
  const x = join(work, "scan-x");
  await mkdir(x);
  await runOk("tar", ["-xf", tar, "-C", x]);
  const blob = async (d: string) => JSON.parse(await readFile(join(x, "blobs/sha256", d.slice(7)), "utf8"));
  const index = await blob(JSON.parse(await readFile(join(x, "index.json"), "utf8")).manifests[0].digest);
  const att = await blob(index.manifests.find((m: Doc) => m.platform.os === "unknown").digest);
  // As BuildKit stores a scanner's extra document: one more in-toto layer after the image's own SBOM.
  const types = att.layers.map((l: Doc) => l.annotations["in-toto.io/predicate-type"]);
  assert.deepEqual(types, [
    "https://slsa.dev/provenance/v1",
    "https://spdx.dev/Document",
    "https://spdx.dev/Document",
  ]);
  assert.deepEqual(purls(await blob(att.layers[2].digest)), ["pkg:npm/left-pad@1.3.0"]);
});
