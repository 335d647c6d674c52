// The same build attested by BuildKit v0.24 (`attest:provenance=mode=…,version=v1`) and by polyarch
// (`--provenance=mode=…`): the attestation manifest's layout and the provenance's shape must agree, and so
// must everything in it that is not a time, an id or a step encoding (base images and their digests, the
// frontend request, the Dockerfile).
import assert from "node:assert/strict";
import { mkdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { runOk } from "../harness/exec.ts";
import { Differential } from "./support.ts";

// biome-ignore lint/suspicious/noExplicitAny: JSON documents read back as they were written
type Doc = any;

let d: Differential;
before(async () => {
  d = await Differential.start();
});
after(async () => {
  await d?.[Symbol.asyncDispose]();
});

interface Attested {
  entry: Doc;
  manifest: Doc;
  config: Doc;
  statement: Doc;
}

/** The image's attestation manifest in an OCI tar, with its config and its provenance statement. */
async function attestationOf(tar: string): Promise<Attested> {
  const dir = `${tar}.d`;
  await mkdir(dir, { recursive: true });
  await runOk("tar", ["-xf", tar, "-C", dir]);
  const blob = async (digest: string) =>
    JSON.parse(await readFile(join(dir, "blobs/sha256", digest.slice("sha256:".length)), "utf8"));
  const top = JSON.parse(await readFile(join(dir, "index.json"), "utf8"));
  const index = await blob(top.manifests[0].digest);
  const entry = index.manifests.find((m: Doc) => m.platform?.os === "unknown");
  assert.ok(entry, `no attestation manifest in ${JSON.stringify(index)}`);
  const manifest = await blob(entry.digest);
  return {
    entry,
    manifest,
    config: await blob(manifest.config.digest),
    statement: await blob(manifest.layers[0].digest),
  };
}

const keys = (o: Record<string, unknown>) => Object.keys(o).sort();

for (const mode of ["min", "max"] as const) {
  test(`provenance mode=${mode}: BuildKit's attestation manifest layout and SLSA v1 shape`, async () => {
    const files = { Dockerfile: `FROM ${d.base}\nARG FOO\nRUN echo hi > /x\nCOPY a /a\n`, a: "a" };
    const bkTar = join(d.dir, `bk-${mode}.tar`);
    const paTar = join(d.dir, `pa-${mode}.tar`);
    const seen = await d.both(files, {
      output: "oci",
      buildArgs: { FOO: "bar" },
      buildkitArgs: [
        "--opt",
        `attest:provenance=mode=${mode},version=v1`,
        "--output",
        `type=oci,dest=${bkTar}`,
      ],
      polyarchArgs: [`--provenance=mode=${mode}`, "-o", `type=oci,dest=${paTar}`],
    });
    assert.ok(seen.buildkit.ok, seen.buildkit.output);
    assert.ok(seen.polyarch.ok, seen.polyarch.output);
    const bk = await attestationOf(bkTar);
    const pa = await attestationOf(paTar);

    // The index entry: platform unknown/unknown, the two reference annotations.
    assert.deepEqual(pa.entry.platform, bk.entry.platform);
    assert.deepEqual(keys(pa.entry.annotations), keys(bk.entry.annotations));
    assert.equal(pa.entry.annotations["vnd.docker.reference.type"], "attestation-manifest");
    // The manifest: one in-toto layer annotated with its predicate type; the config lists it as a diff_id.
    assert.deepEqual(
      pa.manifest.layers.map((l: Doc) => [l.mediaType, l.annotations]),
      bk.manifest.layers.map((l: Doc) => [l.mediaType, l.annotations]),
    );
    assert.equal(pa.manifest.mediaType, bk.manifest.mediaType);
    assert.equal(pa.manifest.config.mediaType, bk.manifest.config.mediaType);
    assert.deepEqual({ ...pa.config, rootfs: null }, { ...bk.config, rootfs: null });
    assert.deepEqual(
      pa.config.rootfs.diff_ids,
      pa.manifest.layers.map((l: Doc) => l.digest),
    );

    // The statement and the predicate.
    const [ps, bs] = [pa.statement, bk.statement];
    assert.deepEqual(keys(ps), keys(bs));
    assert.equal(ps._type, bs._type);
    assert.equal(ps.predicateType, bs.predicateType);
    assert.deepEqual(ps.subject, bs.subject);
    const [p, b] = [ps.predicate, bs.predicate];
    assert.deepEqual(keys(p), keys(b));
    assert.deepEqual(keys(p.buildDefinition), keys(b.buildDefinition));
    assert.equal(p.buildDefinition.buildType, b.buildDefinition.buildType);
    assert.deepEqual(p.buildDefinition.resolvedDependencies, b.buildDefinition.resolvedDependencies);
    assert.deepEqual(p.buildDefinition.externalParameters, b.buildDefinition.externalParameters);
    assert.deepEqual(keys(p.buildDefinition.internalParameters), keys(b.buildDefinition.internalParameters));
    assert.equal(
      p.buildDefinition.internalParameters.builderPlatform,
      b.buildDefinition.internalParameters.builderPlatform,
    );
    assert.deepEqual(p.runDetails.builder, b.runDetails.builder);
    assert.deepEqual(
      p.runDetails.metadata.buildkit_completeness,
      b.runDetails.metadata.buildkit_completeness,
    );
    if (mode === "max") {
      assert.deepEqual(keys(p.runDetails.metadata), keys(b.runDetails.metadata));
      assert.deepEqual(
        keys(p.buildDefinition.internalParameters.buildConfig),
        keys(b.buildDefinition.internalParameters.buildConfig),
      );
      const [pi, bi] = [
        p.runDetails.metadata.buildkit_metadata.source.infos[0],
        b.runDetails.metadata.buildkit_metadata.source.infos[0],
      ];
      assert.deepEqual([pi.filename, pi.language, pi.data], [bi.filename, bi.language, bi.data]);
    } else {
      // Deliberately without BuildKit's times and invocation id: the same build gives the same bytes.
      assert.deepEqual(keys(p.runDetails.metadata), ["buildkit_completeness", "buildkit_metadata"]);
    }
  });
}

test("type=local: the statements beside each platform's files, named, moded and with the subjects BuildKit gives", async () => {
  const files = { Dockerfile: `FROM ${d.base}\nCOPY a /a\nCOPY d /d\n`, a: "a", "d/b": "b", "d.txt": "t" };
  const [bkDir, paDir] = [join(d.dir, "bk-local-attest"), join(d.dir, "pa-local-attest")];
  const seen = await d.both(files, {
    output: "local",
    platform: "linux/amd64,linux/arm64",
    buildkitArgs: ["--opt", "attest:provenance=mode=min,version=v1", "--output", `type=local,dest=${bkDir}`],
    polyarchArgs: ["--provenance=mode=min", "-o", `type=local,dest=${paDir}`],
  });
  assert.ok(seen.buildkit.ok, seen.buildkit.output);
  assert.ok(seen.polyarch.ok, seen.polyarch.output);
  const statementFiles = (tree: Doc[]) =>
    tree.filter((e) => e.path.endsWith(".json") && !e.path.includes("/etc/")).map((e) => [e.path, e.mode]);
  assert.deepEqual(statementFiles(seen.polyarch.tree!), statementFiles(seen.buildkit.tree!));
  assert.deepEqual(statementFiles(seen.polyarch.tree!), [
    ["linux_amd64/provenance.json", "600"],
    ["linux_arm64/provenance.json", "600"],
  ]);
  for (const sub of ["linux_amd64", "linux_arm64"]) {
    const [ps, bs] = [
      JSON.parse(await readFile(join(paDir, sub, "provenance.json"), "utf8")),
      JSON.parse(await readFile(join(bkDir, sub, "provenance.json"), "utf8")),
    ];
    assert.deepEqual(keys(ps), keys(bs));
    assert.equal(ps._type, bs._type);
    assert.equal(ps.predicateType, bs.predicateType);
    assert.deepEqual(ps.subject, bs.subject);
  }
});
