import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { run, runOk } from "../../harness/exec.ts";
import { pushBusyboxImage } from "../../harness/images.ts";
import { startRegistry, type TestRegistry } from "../../harness/registry.ts";
import { polyarch, tempStateRoot } from "../../support/cli.ts";

let reg: TestRegistry;
let state: Awaited<ReturnType<typeof tempStateRoot>>;

before(async () => {
  reg = await startRegistry();
  state = await tempStateRoot();
  await pushBusyboxImage(reg);
  await pushBusyboxImage(reg, { name: "library/busybox:docker", format: "docker" });
});
after(async () => {
  await reg?.stop();
  await state?.[Symbol.asyncDispose]();
});

const env = () => ({ POLYARCH_ROOT: state.dir, DOCKER_CONFIG: state.dir });

test("inspect lists the three platforms of the busybox index", async () => {
  const r = await polyarch(["imagetools", "inspect", reg.ref("library/busybox:latest")], { env: env() });
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^Name: +127\.0\.0\.1:\d+\/library\/busybox:latest$/m);
  assert.match(r.stdout, /^MediaType: +application\/vnd\.oci\.image\.index\.v1\+json$/m);
  const platforms = [...r.stdout.matchAll(/Platform: +(\S+)/g)].map((m) => m[1]);
  assert.deepEqual(platforms.sort(), ["linux/amd64", "linux/arm/v7", "linux/arm64"]);
});

test("--raw is byte-identical to skopeo inspect --raw, for OCI and Docker media types", async () => {
  for (const tag of ["latest", "docker"]) {
    const ours = await polyarch(["imagetools", "inspect", "--raw", reg.ref(`library/busybox:${tag}`)], {
      env: env(),
    });
    assert.equal(ours.code, 0, ours.stderr);
    const skopeo = await runOk("skopeo", [
      "inspect",
      "--raw",
      ...reg.skopeoFlags(),
      `docker://${reg.ref(`library/busybox:${tag}`)}`,
    ]);
    assert.equal(ours.stdout, skopeo.stdout, tag);
  }
  const docker = await polyarch(["imagetools", "inspect", reg.ref("library/busybox:docker")], { env: env() });
  assert.match(docker.stdout, /application\/vnd\.docker\.distribution\.manifest\.list\.v2\+json/);
});

test("--format json gives the descriptor and every entry's platform", async () => {
  const r = await polyarch(["imagetools", "inspect", "--format", "json", reg.ref("library/busybox:latest")], {
    env: env(),
  });
  assert.equal(r.code, 0, r.stderr);
  const out = JSON.parse(r.stdout) as {
    descriptor: { digest: string };
    index: { manifests: { platform: { architecture: string } }[] };
  };
  const skopeoDigest = (
    await runOk("skopeo", [
      "inspect",
      "--format",
      "{{.Digest}}",
      ...reg.skopeoFlags(),
      `docker://${reg.ref("library/busybox:latest")}`,
    ])
  ).stdout.trim();
  assert.equal(out.descriptor.digest, skopeoDigest);
  assert.equal(out.index.manifests.length, 3);
});

test("bad input: each a one-line error that says what to do", async () => {
  const cases: [string[], RegExp][] = [
    [["imagetools", "inspect", "Not/A:ref:x"], /^error: invalid image reference/],
    [["imagetools", "inspect", reg.ref("library/busybox:nope")], /^error: .*library\/busybox:nope not found/],
    [
      ["imagetools", "inspect", "127.0.0.1:1/app:1"],
      /^error: cannot reach registry 127\.0\.0\.1:1: connection refused/,
    ],
    [
      ["imagetools", "inspect", "--format", "yaml", reg.ref("library/busybox:latest")],
      /^error: unknown --format "yaml"/,
    ],
  ];
  for (const [args, pattern] of cases) {
    const r = await polyarch(args, { env: env() });
    assert.equal(r.code, 1, args.join(" "));
    assert.match(r.stderr, pattern);
    const lines = r.stderr.trim().split("\n");
    assert.ok(lines.length <= 2, `one error line plus at most a hint, got:\n${r.stderr}`);
    assert.match(lines.at(-1) ?? "", /^(hint: |error: )/);
    assert.doesNotMatch(r.stderr, /\bat .*\.(ts|mjs):\d+/, "no stack trace without --debug");
  }
  // skopeo agrees the tag does not exist (the error is ours, not a harness fault).
  const s = await run("skopeo", [
    "inspect",
    "--raw",
    ...reg.skopeoFlags(),
    `docker://${reg.ref("library/busybox:nope")}`,
  ]);
  assert.notEqual(s.code, 0);
});

async function skopeoJson(args: string[]): Promise<Record<string, unknown>> {
  return JSON.parse((await runOk("skopeo", ["inspect", ...args])).stdout) as Record<string, unknown>;
}

async function format(template: string, ref: string): Promise<string> {
  const r = await polyarch(["imagetools", "inspect", "--format", template, ref], { env: env() });
  assert.equal(r.code, 0, r.stderr);
  return r.stdout;
}

test("--format Go templates print buildx's template input: .Name, .Manifest, .Image per platform, .Provenance, .SBOM", async () => {
  const ref = reg.ref("library/busybox:latest");
  const raw = (await runOk("skopeo", ["inspect", "--raw", ...reg.skopeoFlags(), `docker://${ref}`])).stdout;
  const index = JSON.parse(raw) as { manifests: { digest: string; platform: { architecture: string } }[] };
  const digest = (
    await runOk("skopeo", ["inspect", "--format", "{{.Digest}}", ...reg.skopeoFlags(), `docker://${ref}`])
  ).stdout.trim();

  // As buildx: the name as the user wrote it, with no newline added.
  assert.equal(await format("{{.Name}}", ref), ref);
  assert.equal(await format("name={{ .Name }}\n", ref), `name=${ref}\n`);

  const manifest = JSON.parse(await format("{{json .Manifest}}", ref)) as Record<string, unknown>;
  assert.deepEqual(Object.keys(manifest), ["schemaVersion", "mediaType", "digest", "size", "manifests"]);
  assert.equal(manifest.digest, digest);
  assert.equal(manifest.size, Buffer.byteLength(raw));
  assert.deepEqual(manifest.manifests, index.manifests);

  const images = JSON.parse(await format("{{json .Image}}", ref)) as Record<
    string,
    { architecture: string; rootfs: { diff_ids: string[] } }
  >;
  assert.deepEqual(Object.keys(images), ["linux/amd64", "linux/arm/v7", "linux/arm64"]);
  for (const entry of index.manifests) {
    const config = await skopeoJson([
      "--config",
      "--raw",
      ...reg.skopeoFlags(),
      `docker://${reg.ref(`library/busybox@${entry.digest}`)}`,
    ]);
    const key = Object.keys(images).find((k) => k.split("/")[1] === entry.platform.architecture)!;
    assert.equal(images[key]!.architecture, config.architecture);
    assert.deepEqual(images[key]!.rootfs, config.rootfs);
  }

  // No attestations: buildx prints empty objects.
  assert.equal(await format("{{json .Provenance}}", ref), "{}");
  assert.equal(await format("{{json .SBOM}}", ref), "{}");

  const all = JSON.parse(await format("{{json .}}", ref)) as Record<string, unknown>;
  assert.deepEqual(Object.keys(all), ["name", "manifest", "image"]);
  assert.equal(all.name, ref);
  assert.deepEqual(all.manifest, manifest);
  assert.deepEqual(all.image, images);

  // A single-platform image: .Image is its config, not a map.
  const child = reg.ref(`library/busybox@${index.manifests[0]!.digest}`);
  const one = JSON.parse(await format("{{json .}}", child)) as {
    manifest: Record<string, unknown>;
    image: Record<string, unknown>;
  };
  assert.deepEqual(Object.keys(one.manifest), ["mediaType", "digest", "size"]);
  assert.equal(one.manifest.digest, index.manifests[0]!.digest);
  assert.equal(one.image.architecture, index.manifests[0]!.platform.architecture);
  assert.equal(await format("{{json .Provenance}}", child), "{}");
  assert.equal(await format("{{.Image.Architecture}}", child), index.manifests[0]!.platform.architecture);

  // {{.Manifest}} is buildx's default view.
  const pretty = await format("{{.Manifest}}", ref);
  assert.match(pretty, /^Manifests: *$/m);
});

test("the default view keeps the tag in each entry's Name and prints platforms as the index stores them", async () => {
  const ref = reg.ref("library/busybox:latest");
  const r = await polyarch(["imagetools", "inspect", ref], { env: env() });
  assert.equal(r.code, 0, r.stderr);
  const names = [...r.stdout.matchAll(/^ {2}Name: +(\S+)$/gm)].map((m) => m[1]!);
  assert.equal(names.length, 3);
  for (const n of names) assert.match(n, new RegExp(`^${ref.replaceAll(".", "\\.")}@sha256:[a-f0-9]{64}$`));

  // An entry whose platform says arm64/v8 (as some registries' images do) is shown as stored.
  const raw = JSON.parse(
    (await runOk("skopeo", ["inspect", "--raw", ...reg.skopeoFlags(), `docker://${ref}`])).stdout,
  ) as {
    manifests: { digest: string; mediaType: string; size: number; platform: { architecture: string } }[];
  };
  const stored = JSON.stringify({
    ...raw,
    manifests: raw.manifests.map((m) =>
      m.platform.architecture === "arm64" ? { ...m, platform: { ...m.platform, variant: "v8" } } : m,
    ),
  });
  const put = await fetch(`${reg.url}/v2/library/busybox/manifests/v8`, {
    method: "PUT",
    headers: { "content-type": "application/vnd.oci.image.index.v1+json" },
    body: stored,
  });
  assert.equal(put.status, 201, await put.text());
  const shown = await polyarch(["imagetools", "inspect", reg.ref("library/busybox:v8")], { env: env() });
  assert.equal(shown.code, 0, shown.stderr);
  assert.match(shown.stdout, /^ {2}Platform: +linux\/arm64\/v8$/m);
  // .Image keys are normalised, as buildx's loader keys them; .Manifest keeps the entry as stored.
  const images = JSON.parse(await format("{{json .Image}}", reg.ref("library/busybox:v8"))) as object;
  assert.deepEqual(Object.keys(images), ["linux/amd64", "linux/arm/v7", "linux/arm64"]);
  const manifest = JSON.parse(await format("{{json .Manifest}}", reg.ref("library/busybox:v8"))) as {
    manifests: { platform: { variant?: string } }[];
  };
  assert.ok(manifest.manifests.some((m) => m.platform.variant === "v8"));
});

test("--format errors: an unsupported template, an object printed as text, --format with --raw", async () => {
  const ref = reg.ref("library/busybox:latest");
  const cases: [string[], RegExp][] = [
    [
      ["--format", "{{range .Manifest}}x{{end}}", ref],
      /^error: invalid --format .*\{\{range\}\} is not supported/,
    ],
    [["--format", "{{.Image}}", ref], /^error: --format: \{\{\.Image\}\} is an object/],
    [["--format", "{{json .Nope}}", ref], /has no field Nope/],
    [["--format", "{{json .Manifest", ref], /not closed/],
    [["--raw", "--format", "{{json .}}", ref], /^error: --format and --raw cannot be used together/],
  ];
  for (const [args, pattern] of cases) {
    const r = await polyarch(["imagetools", "inspect", ...args], { env: env() });
    assert.equal(r.code, 1, args.join(" "));
    assert.match(r.stderr, pattern);
  }
});
