// Issue 4's acceptance, through the CLI a user runs: the cross-compile example built for three platforms
// from the busybox fixture, checked with skopeo, umoci and runc; pushed to a registry; rebuilt from cache.
import assert from "node:assert/strict";
import { cp, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { runOk } from "../../harness/exec.ts";
import { pushBusyboxImage } from "../../harness/images.ts";
import { startRegistry, type TestRegistry } from "../../harness/registry.ts";
import { runImage } from "../../harness/run-image.ts";
import { polyarch, tempStateRoot } from "../../support/cli.ts";
import { cachedNames, ranNames, solveStatuses } from "../../support/solve-status.ts";

const repo = new URL("../../../", import.meta.url).pathname;
const platforms = "linux/amd64,linux/arm64,linux/arm/v7";
const machines: Record<string, string> = { amd64: "x86_64", arm64: "aarch64", arm: "armv7l" };

let reg: TestRegistry;
let state: Awaited<ReturnType<typeof tempStateRoot>>;
let work: string;
let context: string;

before(async () => {
  reg = await startRegistry();
  await pushBusyboxImage(reg);
  state = await tempStateRoot();
  work = await mkdtemp(join(tmpdir(), "polyarch-xc-"));
  // A copy of the example, so a test can change a context file.
  context = join(work, "context");
  await cp(join(repo, "examples/cross-compile"), context, { recursive: true });
});
after(async () => {
  await reg?.stop();
  await state?.[Symbol.asyncDispose]();
  if (work) await rm(work, { recursive: true, force: true });
});

async function build(extra: string[], env: Record<string, string> = {}) {
  const r = await polyarch(
    [
      "build",
      "--platform",
      platforms,
      "--build-arg",
      `REGISTRY=${reg.host}`,
      "--progress",
      "rawjson",
      ...extra,
      context,
    ],
    { env: { POLYARCH_ROOT: state.dir, DOCKER_CONFIG: state.dir, ...env } },
  );
  assert.equal(r.code, 0, `build failed:\n${r.stderr.slice(-4000)}`);
  return { ...r, events: solveStatuses(r.stderr) };
}

const ran = ranNames;
const cached = cachedNames;

let firstDigest = "";

test("three platforms: an index of three images, each running its own CPU's uname -m", async () => {
  const archive = join(work, "out.tar");
  const iid = join(work, "iid");
  const r = await build(["-o", `type=oci,dest=${archive}`, "--iidfile", iid]);
  const index = JSON.parse(
    (await runOk("skopeo", ["inspect", "--raw", `oci-archive:${archive}`])).stdout,
  ) as {
    manifests: { platform: { architecture: string; variant?: string } }[];
  };
  assert.deepEqual(
    index.manifests.map(
      (m) => `${m.platform.architecture}${m.platform.variant ? `/${m.platform.variant}` : ""}`,
    ),
    ["amd64", "arm64", "arm/v7"],
  );
  firstDigest = (await readFile(iid, "utf8")).trim();
  assert.match(firstDigest, /^sha256:[a-f0-9]{64}$/);

  for (const [arch, variant] of [
    ["amd64", undefined],
    ["arm64", undefined],
    ["arm", "v7"],
  ] as const) {
    const line = await runImage({
      source: `oci-archive:${archive}`,
      architecture: arch,
      variant,
      workDir: await mkdtemp(join(work, "run-")),
    });
    const target = `linux/${arch}${variant ? `/${variant}` : ""}`;
    assert.equal(
      line,
      `hello from ${target} (version dev), running on ${machines[arch]}, built on ${machines[arch]}`,
    );
  }

  // The BUILDPLATFORM builder's steps before ARG TARGETARCH ran once for all three targets; the steps after
  // it, and the final stage's RUN, once per platform (the foreign ones emulated).
  const names = ran(r.events);
  assert.equal(names.filter((n) => /RUN .*toolchain ready/.test(n)).length, 1, names.join("\n"));
  assert.equal(names.filter((n) => /RUN .*hello\.sh\.in/.test(n)).length, 3, names.join("\n"));
  const finalRuns = names.filter((n) => /RUN uname -m > \/etc\/built-on/.test(n));
  assert.equal(finalRuns.length, 3);
  // SolveStatus has no "emulated" mark (BuildKit's has none); that the foreign ones ran under QEMU on this
  // amd64 machine is what their "built on aarch64/armv7l" lines above show.
});

test("a second identical build is all CACHED and gives the same index digest", async () => {
  const iid = join(work, "iid2");
  const r = await build(["-o", `type=oci,dest=${join(work, "out2.tar")}`, "--iidfile", iid]);
  assert.deepEqual(
    ran(r.events).filter((n) => /\] (RUN|COPY|WORKDIR)/.test(n)),
    [],
    "no step ran again",
  );
  assert.ok(cached(r.events).length >= 5);
  assert.equal((await readFile(iid, "utf8")).trim(), firstDigest);
});

test("changing one context file reruns only the steps that depend on it", async () => {
  await writeFile(
    join(context, "src", "hello.sh.in"),
    (await readFile(join(context, "src", "hello.sh.in"), "utf8")).replace("hello from", "hi from"),
  );
  const r = await build(["-o", `type=oci,dest=${join(work, "out3.tar")}`]);
  const names = ran(r.events);
  assert.ok(
    names.some((n) => /COPY src\//.test(n)),
    names.join("\n"),
  );
  assert.equal(names.filter((n) => /RUN .*hello\.sh\.in/.test(n)).length, 3);
  // Steps that do not read the changed file stay cached: the base images' metadata and nothing before COPY.
  assert.ok(!names.some((n) => /WORKDIR/.test(n)), names.join("\n"));
});

test("--push writes blobs, manifests and the index last; skopeo copies it whole; imagetools lists three platforms", async () => {
  const metadataFile = join(work, "meta.json");
  await build(["-t", reg.ref("xc/app:1"), "--push", "--metadata-file", metadataFile]);
  const meta = JSON.parse(await readFile(metadataFile, "utf8")) as Record<string, unknown>;
  assert.match(String(meta["containerimage.digest"]), /^sha256:/);
  assert.equal(meta["image.name"], reg.ref("xc/app:1"));
  await runOk("skopeo", [
    "copy",
    "--all",
    ...reg.skopeoFlags("src"),
    `docker://${reg.ref("xc/app:1")}`,
    `oci:${join(work, "pushed")}:x`,
  ]);
  const inspect = await polyarch(["imagetools", "inspect", reg.ref("xc/app:1")], {
    env: { POLYARCH_ROOT: state.dir },
  });
  assert.deepEqual(
    [...inspect.stdout.matchAll(/Platform: +(\S+)/g)].map((m) => m[1]),
    // The platforms, then (as buildx lists them) the attestation manifests of the default min provenance.
    ["linux/amd64", "linux/arm64", "linux/arm/v7", "unknown/unknown", "unknown/unknown", "unknown/unknown"],
  );
  assert.match(inspect.stdout, /vnd\.docker\.reference\.type: +attestation-manifest/);
  assert.match(inspect.stdout, new RegExp(`Digest: +${String(meta["containerimage.digest"])}`));
});
