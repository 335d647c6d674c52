import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { chmod, mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import Ajv2020 from "ajv/dist/2020.js";
import addFormats from "ajv-formats";
import { runOk } from "../../harness/exec.ts";
import { pushBusyboxImage } from "../../harness/images.ts";
import { startRegistry, type TestRegistry } from "../../harness/registry.ts";
import { polyarch, tempStateRoot } from "../../support/cli.ts";
import { goBinary } from "../../support/go-elf.ts";

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

const dpkgStatus = `Package: libc6
Status: install ok installed
Maintainer: GNU Libc Maintainers <debian-glibc@lists.debian.org>
Architecture: amd64
Source: glibc
Version: 2.36-9+deb12u7
Description: GNU C Library
 shared libraries

Package: oldpkg
Status: deinstall ok config-files
Architecture: amd64
Version: 1.0

Package: bash
Status: install ok installed
Architecture: amd64
Version: 5.2.15-2+b7
`;

before(async () => {
  reg = await startRegistry();
  state = await tempStateRoot();
  base = await pushBusyboxImage(reg);
  ctx = await mkdtemp(join(tmpdir(), "attest-ctx-"));
  await mkdir(join(ctx, "nm/left-pad"), { recursive: true });
  await writeFile(
    join(ctx, "nm/left-pad/package.json"),
    JSON.stringify({ name: "left-pad", version: "1.3.0" }),
  );
  await mkdir(join(ctx, "py/requests-2.31.0.dist-info"), { recursive: true });
  await writeFile(
    join(ctx, "py/requests-2.31.0.dist-info/METADATA"),
    "Metadata-Version: 2.1\nName: requests\nVersion: 2.31.0\nLicense: Apache 2.0\n\nbody\n",
  );
  await writeFile(join(ctx, "status"), dpkgStatus);
  await writeFile(join(ctx, "os-release"), 'PRETTY_NAME="Debian GNU/Linux 12"\nID=debian\n');
  await writeFile(
    join(ctx, "app"),
    goBinary("go1.22.3", { main: "example.com/app", deps: [["golang.org/x/sys", "v0.20.0"]] }),
  );
  await chmod(join(ctx, "app"), 0o755);
  await writeFile(
    join(ctx, "Dockerfile"),
    `FROM ${base.ref}
ARG FOO
COPY status /var/lib/dpkg/status
COPY os-release /etc/os-release
COPY nm /usr/lib/node_modules
COPY py /usr/lib/python3/dist-packages
COPY app /usr/local/bin/app
RUN echo built > /built
`,
  );
});
after(async () => {
  await reg?.stop();
  await state?.[Symbol.asyncDispose]();
  if (ctx) await rm(ctx, { recursive: true, force: true });
});

const env = (extra: Record<string, string> = {}) => ({
  POLYARCH_ROOT: state.dir,
  DOCKER_CONFIG: state.dir,
  ...extra,
});

async function get(
  path: string,
  accept = "application/vnd.oci.image.index.v1+json, application/vnd.oci.image.manifest.v1+json",
) {
  const res = await fetch(`${reg.url}${path}`, { headers: { accept } });
  return { status: res.status, body: Buffer.from(await res.arrayBuffer()) };
}
async function json(path: string): Promise<Doc> {
  const r = await get(path);
  assert.equal(r.status, 200, `${path}: ${r.body}`);
  return JSON.parse(r.body.toString("utf8"));
}
const blob = (repo: string, digest: string) => json(`/v2/${repo}/blobs/${digest}`);

test("--provenance=mode=max --sbom=true: an attestation manifest per platform, as BuildKit stores them", async () => {
  const target = reg.ref("attest/app:max");
  const r = await polyarch(
    [
      "build",
      "--platform",
      "linux/amd64,linux/arm64",
      "--provenance=mode=max",
      "--sbom=true",
      "--build-arg",
      "FOO=bar",
      "-t",
      target,
      "--push",
      ctx,
    ],
    { env: env() },
  );
  assert.equal(r.code, 0, r.stderr);
  const index = await json("/v2/attest/app/manifests/max");
  const images = index.manifests.filter((m: Doc) => m.platform.os === "linux");
  const atts = index.manifests.filter((m: Doc) => m.platform.os === "unknown");
  assert.equal(images.length, 2);
  assert.equal(atts.length, 2);
  // The images first, then their attestation manifests, in the same order.
  assert.deepEqual(index.manifests.slice(0, 2), images);
  for (const [i, att] of atts.entries()) {
    assert.deepEqual(att.platform, { architecture: "unknown", os: "unknown" });
    assert.equal(att.annotations["vnd.docker.reference.type"], "attestation-manifest");
    assert.equal(att.annotations["vnd.docker.reference.digest"], images[i].digest);
    // skopeo reads the attestation manifest and its config.
    const raw = await runOk("skopeo", [
      "inspect",
      "--raw",
      ...reg.skopeoFlags(),
      `docker://${reg.ref(`attest/app@${att.digest}`)}`,
    ]);
    const manifest = JSON.parse(raw.stdout);
    const cfg = await runOk("skopeo", [
      "inspect",
      "--config",
      "--raw",
      ...reg.skopeoFlags(),
      `docker://${reg.ref(`attest/app@${att.digest}`)}`,
    ]);
    assert.deepEqual(JSON.parse(cfg.stdout), {
      architecture: "unknown",
      os: "unknown",
      config: {},
      rootfs: { type: "layers", diff_ids: manifest.layers.map((l: Doc) => l.digest) },
    });
    const types = manifest.layers.map((l: Doc) => [l.mediaType, l.annotations["in-toto.io/predicate-type"]]);
    assert.deepEqual(types, [
      ["application/vnd.in-toto+json", "https://slsa.dev/provenance/v1"],
      ["application/vnd.in-toto+json", "https://spdx.dev/Document"],
    ]);
    const provenance = await blob("attest/app", manifest.layers[0].digest);
    assert.ok(validStatement(provenance), JSON.stringify(validStatement.errors));
    assert.ok(validProvenance(provenance.predicate), JSON.stringify(validProvenance.errors));
    const def = provenance.predicate.buildDefinition;
    const arch = i === 0 ? "amd64" : "arm64";
    // The base image with the digest it was pinned to (the index's, as BuildKit records it).
    assert.deepEqual(def.resolvedDependencies, [
      {
        uri: `pkg:docker/${encodeURIComponent(reg.host)}/library/busybox@latest?platform=linux%2F${arch}`,
        digest: { sha256: base.digest.slice("sha256:".length) },
      },
    ]);
    assert.equal(def.externalParameters.request.frontend, "dockerfile.v0");
    assert.deepEqual(def.externalParameters.request.args, { "build-arg:FOO": "bar" });
    assert.ok(def.internalParameters.buildConfig.llbDefinition.length >= 7);
    const info = provenance.predicate.runDetails.metadata.buildkit_metadata.source.infos[0];
    assert.equal(Buffer.from(info.data, "base64").toString(), readFileSync(join(ctx, "Dockerfile"), "utf8"));

    const sbom = await blob("attest/app", manifest.layers[1].digest);
    assert.ok(validStatement(sbom), JSON.stringify(validStatement.errors));
    assert.ok(validSpdx(sbom.predicate), JSON.stringify(validSpdx.errors));
    const purls = sbom.predicate.packages
      .flatMap((p: Doc) => (p.externalRefs ?? []).map((e: Doc) => e.referenceLocator))
      .sort();
    assert.deepEqual(purls, [
      "pkg:deb/debian/bash@5.2.15-2%2Bb7?arch=amd64",
      "pkg:deb/debian/libc6@2.36-9%2Bdeb12u7?arch=amd64&upstream=glibc",
      "pkg:golang/example.com/app@(devel)",
      "pkg:golang/golang.org/x/sys@v0.20.0",
      "pkg:golang/stdlib@1.22.3",
      "pkg:npm/left-pad@1.3.0",
      "pkg:pypi/requests@2.31.0",
    ]);
  }

  // imagetools inspect reads them back in buildx's shape, per platform.
  const prov = await polyarch(["imagetools", "inspect", "--format", "{{json .Provenance}}", target], {
    env: env(),
  });
  assert.equal(prov.code, 0, prov.stderr);
  const byPlatform = JSON.parse(prov.stdout);
  assert.deepEqual(Object.keys(byPlatform).sort(), ["linux/amd64", "linux/arm64"]);
  assert.equal(
    byPlatform["linux/arm64"].SLSA.buildDefinition.externalParameters.request.frontend,
    "dockerfile.v0",
  );
  const sb = await polyarch(["imagetools", "inspect", "--format", "{{json .SBOM}}", target], { env: env() });
  assert.equal(sb.code, 0, sb.stderr);
  assert.equal(JSON.parse(sb.stdout)["linux/amd64"].SPDX.spdxVersion, "SPDX-2.3");
});

test("by default a pushed image gets min provenance, and an unchanged rebuild keeps its digest", async () => {
  const digests: string[] = [];
  for (const tag of ["one", "two"]) {
    const r = await polyarch(
      ["build", "--platform", "linux/amd64", "-t", reg.ref(`attest/def:${tag}`), "--push", ctx],
      { env: env() },
    );
    assert.equal(r.code, 0, r.stderr);
    const head = await fetch(`${reg.url}/v2/attest/def/manifests/${tag}`, {
      method: "HEAD",
      headers: { accept: "application/vnd.oci.image.index.v1+json" },
    });
    digests.push(head.headers.get("docker-content-digest")!);
  }
  assert.equal(digests[0], digests[1]);
  const index = await json("/v2/attest/def/manifests/one");
  assert.equal(index.manifests.length, 2);
  const att = await json(`/v2/attest/def/manifests/${index.manifests[1].digest}`);
  assert.equal(att.layers.length, 1);
  const provenance = await blob("attest/def", att.layers[0].digest);
  assert.ok(validProvenance(provenance.predicate), JSON.stringify(validProvenance.errors));
  // Min mode: no build args, no steps, no times.
  assert.equal(provenance.predicate.buildDefinition.externalParameters.request.args, undefined);
  assert.equal(provenance.predicate.buildDefinition.internalParameters.buildConfig, undefined);
  assert.equal(provenance.predicate.runDetails.metadata.startedOn, undefined);

  const off = await polyarch(
    ["build", "--platform", "linux/amd64", "-t", reg.ref("attest/def:off"), "--push", ctx],
    {
      env: env({ BUILDX_NO_DEFAULT_ATTESTATIONS: "1" }),
    },
  );
  assert.equal(off.code, 0, off.stderr);
  const plain = await json("/v2/attest/def/manifests/off");
  assert.equal(plain.mediaType, "application/vnd.oci.image.manifest.v1+json");
  const explicitOff = await polyarch(
    [
      "build",
      "--platform",
      "linux/amd64",
      "--provenance=false",
      "-t",
      reg.ref("attest/def:off2"),
      "--push",
      ctx,
    ],
    { env: env() },
  );
  assert.equal(explicitOff.code, 0, explicitOff.stderr);
  assert.equal(
    (await json("/v2/attest/def/manifests/off2")).mediaType,
    "application/vnd.oci.image.manifest.v1+json",
  );
});

test("style=referrers: the index holds only platforms; the attestations are found through the referrers tag", async () => {
  const r = await polyarch(
    [
      "build",
      "--platform",
      "linux/amd64,linux/arm64",
      "--attest",
      "type=provenance,mode=min,style=referrers",
      "--attest",
      "type=sbom,style=referrers",
      "-t",
      reg.ref("attest/ref:1"),
      "--push",
      ctx,
    ],
    { env: env() },
  );
  assert.equal(r.code, 0, r.stderr);
  const index = await json("/v2/attest/ref/manifests/1");
  assert.deepEqual(
    index.manifests.map((m: Doc) => m.platform.architecture),
    ["amd64", "arm64"],
  );
  // Distribution 2.8 has no referrers API ...
  assert.equal((await get(`/v2/attest/ref/referrers/${index.manifests[0].digest}`)).status, 404);
  for (const image of index.manifests) {
    // ... so the client keeps the list under the referrers tag schema, as the distribution spec says.
    const tag = `sha256-${image.digest.slice("sha256:".length)}`;
    const referrers = await json(`/v2/attest/ref/manifests/${tag}`);
    assert.equal(referrers.mediaType, "application/vnd.oci.image.index.v1+json");
    assert.equal(referrers.manifests.length, 1);
    assert.equal(referrers.manifests[0].artifactType, "application/vnd.in-toto+json");
    const artifact = await json(`/v2/attest/ref/manifests/${referrers.manifests[0].digest}`);
    assert.equal(artifact.subject.digest, image.digest);
    assert.equal(artifact.config.mediaType, "application/vnd.oci.empty.v1+json");
    const types = artifact.layers.map((l: Doc) => l.annotations["in-toto.io/predicate-type"]);
    assert.deepEqual(types, ["https://slsa.dev/provenance/v1", "https://spdx.dev/Document"]);
    const sbom = await blob("attest/ref", artifact.layers[1].digest);
    assert.ok(validSpdx(sbom.predicate), JSON.stringify(validSpdx.errors));
  }
  // imagetools finds them through the same fallback.
  const prov = await polyarch(
    ["imagetools", "inspect", "--format", "{{json .Provenance}}", reg.ref("attest/ref:1")],
    {
      env: env(),
    },
  );
  assert.equal(prov.code, 0, prov.stderr);
  const byPlatform = JSON.parse(prov.stdout);
  assert.deepEqual(Object.keys(byPlatform).sort(), ["linux/amd64", "linux/arm64"]);
  assert.equal(
    byPlatform["linux/amd64"].SLSA.buildDefinition.externalParameters.request.frontend,
    "dockerfile.v0",
  );
});

test("bad attestation flags are one-line errors", async () => {
  const r = await polyarch(["build", "--provenance=mode=huge", ctx], { env: env() });
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /unknown provenance mode=huge/);
  const g = await polyarch(["build", "--sbom=generator=docker/scout-sbom-indexer", ctx], { env: env() });
  assert.match(g.stderr, /generator= \(a scanner image\) is not supported/);
});

test("style=referrers in an OCI layout: the artifact is an untagged index.json entry whose subject is the image", async () => {
  const out = join(ctx, "..", `attest-layout-${process.pid}.tar`);
  try {
    const r = await polyarch(
      [
        "build",
        "--platform",
        "linux/arm64",
        "--attest",
        "type=provenance,style=referrers",
        "-t",
        "app:1",
        "-o",
        `type=oci,dest=${out}`,
        ctx,
      ],
      { env: env() },
    );
    assert.equal(r.code, 0, r.stderr);
    const index = JSON.parse((await runOk("tar", ["-xOf", out, "index.json"])).stdout);
    assert.equal(index.manifests.length, 2);
    const [image, artifact] = index.manifests;
    assert.equal(image.annotations["org.opencontainers.image.ref.name"], "1");
    assert.equal(artifact.artifactType, "application/vnd.in-toto+json");
    assert.equal(artifact.annotations?.["org.opencontainers.image.ref.name"], undefined);
    const manifest = JSON.parse(
      (await runOk("tar", ["-xOf", out, `blobs/sha256/${artifact.digest.slice(7)}`])).stdout,
    );
    assert.equal(manifest.subject.digest, image.digest);
    // The image is still one image to a reader that names it.
    const cfg = await runOk("skopeo", ["inspect", "--config", `oci-archive:${out}:1`]);
    assert.equal(JSON.parse(cfg.stdout).architecture, "arm64");
  } finally {
    await rm(out, { force: true });
  }
});
