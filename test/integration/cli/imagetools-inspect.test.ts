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
