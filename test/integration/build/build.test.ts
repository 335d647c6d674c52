// End-to-end library builds: build() from a Dockerfile FROM the multi-arch busybox fixture in a local
// registry, for linux/amd64 and linux/arm64 (arm64 under QEMU on an amd64 machine), to an OCI archive that
// skopeo, umoci and runc then read and run. Every RUN has a watchdog (see fixture.ts).
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { readFile, stat, writeFile } from "node:fs/promises";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { UserError } from "../../../src/errors/user-error.ts";
import { parseOutputs } from "../../../src/exporter/parse-outputs.ts";
import { formatPlatform, hostPlatform, parsePlatform, samePlatform } from "../../../src/oci/platform.ts";
import { installEmulators } from "../../../src/worker/emulation/install.ts";
import { installNameFor } from "../../../src/worker/emulation/names.ts";
import { EmulationDetector } from "../../../src/worker/emulation/runnable.ts";
import { runOk } from "../../harness/exec.ts";
import { pushBusyboxImage, pushSinglePlatformImage } from "../../harness/images.ts";
import { BuildFixture, runInImage, twoPlatforms, unpackPlatform } from "./fixture.ts";

const unameOf: Record<string, string> = { "linux/amd64": "x86_64", "linux/arm64": "aarch64" };
const foreign = twoPlatforms.find((p) => !samePlatform(p, hostPlatform()))!;

let fx: BuildFixture;
before(async () => {
  const detector = new EmulationDetector();
  if (!(await detector.canRun(foreign))) await installEmulators([installNameFor(foreign)]);
  fx = await BuildFixture.create();
});
after(async () => {
  await fx?.dispose();
});

/** Steps of the Dockerfile that ran (not the internal metadata and export steps). */
function ranSteps(names: string[]): string[] {
  return names.filter((n) => n.startsWith("[") && !/^\[(\S+ )?internal\]/.test(n));
}

function appDockerfile(base: string): string {
  return `FROM ${base} AS builder
RUN echo built-on-$(uname -m) > /built

FROM ${base}
ARG TARGETARCH
COPY hello.txt /app/
COPY --chmod=0755 run.sh /app/run.sh
COPY --from=builder /built /app/built
RUN echo "arch=$TARGETARCH $(uname -m)" > /app/arch
ENV GREETING=hi
WORKDIR /app
CMD ["/app/run.sh"]
`;
}

const runScript = '#!/bin/sh\necho "$GREETING from $(uname -m)"\n';

let appContext: string;
let first: Awaited<ReturnType<BuildFixture["build"]>>;

test("a two-platform build gives an index whose images have the files, config and behaviour asked for", async () => {
  appContext = await fx.context({
    Dockerfile: appDockerfile(fx.base),
    "hello.txt": "hello\n",
    "run.sh": runScript,
    "unused.txt": "not selected by any step\n",
  });
  first = await fx.build(appContext);
  const index = JSON.parse((await runOk("skopeo", ["inspect", "--raw", `oci-archive:${first.tar}`])).stdout);
  assert.equal(index.mediaType, "application/vnd.oci.image.index.v1+json");
  assert.deepEqual(
    index.manifests.map((m: { platform: { os: string; architecture: string } }) =>
      formatPlatform(m.platform),
    ),
    ["linux/amd64", "linux/arm64"],
  );
  const raw = (await runOk("skopeo", ["inspect", "--raw", `oci-archive:${first.tar}`])).stdout;
  assert.equal(first.descriptor.digest, `sha256:${createHash("sha256").update(raw).digest("hex")}`);

  for (const platform of twoPlatforms) {
    const uname = unameOf[formatPlatform(platform)]!;
    const image = await unpackPlatform(first.tar, platform, fx.dir);
    assert.equal(await readFile(join(image.rootfs, "app/hello.txt"), "utf8"), "hello\n");
    const script = await stat(join(image.rootfs, "app/run.sh"));
    assert.equal(script.mode & 0o777, 0o755);
    assert.equal(script.uid, 0);
    assert.equal(await readFile(join(image.rootfs, "app/built"), "utf8"), `built-on-${uname}\n`);
    assert.equal(
      await readFile(join(image.rootfs, "app/arch"), "utf8"),
      `arch=${platform.architecture} ${uname}\n`,
    );
    assert.equal(image.config.architecture, platform.architecture);
    assert.deepEqual(image.config.config?.Cmd, ["/app/run.sh"]);
    assert.equal(image.config.config?.WorkingDir, "/app");
    assert.ok(image.config.config?.Env?.includes("GREETING=hi"));
    // One base layer and one per COPY/RUN step, each with its history entry. WORKDIR /app changes
    // nothing (COPY made /app), so as in BuildKit it adds no layer and its history entry says so.
    const history = image.config.history ?? [];
    assert.equal(image.config.rootfs.diff_ids.length, 5);
    assert.equal(history.filter((h) => !h.empty_layer).length, 5);
    assert.equal(history.find((h) => h.created_by === "WORKDIR /app")?.empty_layer, true);
    assert.equal(await runInImage(image, ["/app/run.sh"]), `hi from ${uname}\n`);
  }
  // The foreign platform's RUN steps were marked as emulated.
  const emulated = first.progress.events.filter((e) => e.type === "vertex.start" && e.emulated);
  assert.ok(emulated.length >= 2, "the foreign RUN steps are marked emulated");
  assert.equal(first.progress.events.at(-1)?.type, "build.done", "build.done closes the events");
});

test("an identical second build is all CACHED, runs nothing and gives the same index digest", async () => {
  const second = await fx.build(appContext);
  assert.equal(second.descriptor.digest, first.descriptor.digest);
  assert.deepEqual(ranSteps(second.progress.started()), []);
  assert.ok(second.progress.cached().some((n) => n.includes('RUN echo "arch=')));
  const summary = second.progress.events.find((e) => e.type === "build.done");
  assert.ok(summary?.type === "build.done");
  assert.deepEqual(
    summary.platforms.map((p) => [p.platform, p.steps === p.cached]),
    [
      ["linux/amd64", true],
      ["linux/arm64", true],
    ],
  );
});

test("changing a file no step selects changes nothing; changing one reruns only the steps after its COPY", async () => {
  await writeFile(join(appContext, "unused.txt"), "changed, still unused\n");
  const untouched = await fx.build(appContext);
  assert.equal(untouched.descriptor.digest, first.descriptor.digest);
  assert.deepEqual(ranSteps(untouched.progress.started()), []);

  await writeFile(join(appContext, "hello.txt"), "hello again\n");
  const changed = await fx.build(appContext);
  assert.notEqual(changed.descriptor.digest, first.descriptor.digest);
  const ran = ranSteps(changed.progress.started());
  for (const p of twoPlatforms) {
    const name = formatPlatform(p);
    assert.ok(
      ran.some((n) => n.startsWith(`[${name} stage-1 2/6] COPY hello.txt`)),
      `${name} COPY reran`,
    );
    assert.ok(
      ran.some((n) => n.startsWith(`[${name} stage-1 5/6] RUN echo "arch=`)),
      `${name} RUN reran`,
    );
  }
  assert.deepEqual(
    ran.filter((n) => / builder \d/.test(n)),
    [],
    "the builder stage stays cached",
  );
  const image = await unpackPlatform(changed.tar, foreign, fx.dir);
  assert.equal(await readFile(join(image.rootfs, "app/hello.txt"), "utf8"), "hello again\n");
});

test("a BUILDPLATFORM stage runs its steps before ARG TARGETARCH once, and the later ones per platform", async () => {
  const ctx = await fx.context({
    Dockerfile: `FROM --platform=$BUILDPLATFORM ${fx.base} AS builder
RUN echo "common on $(uname -m)" > /common
ARG TARGETARCH
RUN echo "target=$TARGETARCH on $(uname -m)" > /target

FROM ${fx.base}
COPY --from=builder /common /target /
`,
  });
  const r = await fx.build(ctx);
  const starts = r.progress.events.filter((e) => e.type === "vertex.start");
  const common = starts.filter((e) => e.name.includes('RUN echo "common'));
  assert.equal(common.length, 1, "the target-independent step runs once");
  assert.equal(common[0]!.type === "vertex.start" && common[0]!.platform, undefined, "shared: no platform");
  assert.equal(starts.filter((e) => e.name.includes('RUN echo "target=')).length, 2);
  const build = unameOf[formatPlatform(hostPlatform())]!;
  for (const platform of twoPlatforms) {
    const image = await unpackPlatform(r.tar, platform, fx.dir);
    assert.equal(await readFile(join(image.rootfs, "common"), "utf8"), `common on ${build}\n`);
    assert.equal(
      await readFile(join(image.rootfs, "target"), "utf8"),
      `target=${platform.architecture} on ${build}\n`,
    );
  }
});

test("a failing RUN names its Dockerfile line, the command, the exit code and the end of its output", async () => {
  const ctx = await fx.context({
    Dockerfile: `FROM ${fx.base}\nRUN echo about-to-fail && exit 3\n`,
  });
  await assert.rejects(
    fx.build(ctx, { platforms: [hostPlatform()] }),
    (e: unknown) =>
      e instanceof UserError &&
      /exit code: 3/.test(e.message) &&
      e.message.includes("echo about-to-fail && exit 3") &&
      e.location?.line === 2 &&
      e.location.source === "RUN echo about-to-fail && exit 3" &&
      (e.hint ?? "").includes("about-to-fail"),
  );
});

test("a platform with no emulator fails before any step runs, saying how to fix it; COPY-only builds need none", async () => {
  const noBinfmt = join(fx.dir, "no-binfmt");
  await runOk("mkdir", ["-p", noBinfmt]);
  const ctx = await fx.context({
    Dockerfile: `FROM ${fx.base}\nCOPY a.txt /a.txt\nRUN echo never > /never\n`,
    "a.txt": "a\n",
  });
  const progress: string[] = [];
  await assert.rejects(
    fx.build(ctx, {
      platforms: [foreign],
      binfmtDir: noBinfmt,
      progress: {
        emit: (e) => {
          if (e.type === "vertex.start") progress.push(e.name);
        },
        close: async () => {},
      },
    }),
    (e: unknown) =>
      e instanceof UserError &&
      e.message.includes(`no emulator for ${formatPlatform(foreign)}`) &&
      `${e.message} ${e.hint ?? ""}`.includes("polyarch binfmt --install"),
  );
  assert.deepEqual(ranSteps(progress), [], "nothing ran");

  const copyOnly = await fx.context({ Dockerfile: `FROM ${fx.base}\nCOPY a.txt /a.txt\n`, "a.txt": "a\n" });
  const r = await fx.build(copyOnly, { platforms: [foreign], binfmtDir: noBinfmt });
  const image = await unpackPlatform(r.tar, parsePlatform(formatPlatform(foreign)), fx.dir);
  assert.equal(await readFile(join(image.rootfs, "a.txt"), "utf8"), "a\n");
});

test("SOURCE_DATE_EPOCH with rewrite-timestamp: two clean builds give the same index digest", async () => {
  const epoch = 1_700_000_000;
  const ctx = await fx.context({
    Dockerfile: `FROM ${fx.base}\nCOPY hello.txt /app/\nRUN echo same > /app/when && mkdir -p /var/log/x && touch /var/log/x/file\n`,
    "hello.txt": "hello\n",
  });
  const digests: string[] = [];
  for (const n of [1, 2]) {
    const tar = join(fx.dir, `epoch-${n}.tar`);
    const r = await fx.build(ctx, {
      platforms: [hostPlatform()],
      stateRoot: join(fx.dir, `epoch-state-${n}`),
      sourceDateEpoch: epoch,
      outputs: parseOutputs({
        output: [`type=oci,dest=${tar},rewrite-timestamp=true`],
        tags: [],
        push: false,
      }),
    });
    digests.push(r.descriptor.digest);
    if (n === 1) {
      const image = await unpackPlatform(tar, hostPlatform(), fx.dir);
      assert.equal(image.config.created, "2023-11-14T22:13:20Z");
      assert.ok((image.config.history ?? []).slice(1).every((h) => h.created === "2023-11-14T22:13:20Z"));
      assert.equal((await stat(join(image.rootfs, "app/when"))).mtimeMs, epoch * 1000);
    }
    // The second build's RUN ran a second later at least: its files' times differ before clamping.
    await new Promise((r) => setTimeout(r, 1100));
  }
  assert.equal(digests[0], digests[1]);
});

test("--no-cache-filter reruns that stage's steps and the steps after them; --no-cache reruns every step", async () => {
  const filtered = await fx.build(appContext, { noCacheFilter: ["builder"] });
  const ran = ranSteps(filtered.progress.started()).map((n) => n.replace(/\] .*/, "]"));
  assert.deepEqual(ran.sort(), [
    "[linux/amd64 builder 2/2]",
    "[linux/amd64 stage-1 4/6]",
    "[linux/amd64 stage-1 5/6]",
    "[linux/amd64 stage-1 6/6]",
    "[linux/arm64 builder 2/2]",
    "[linux/arm64 stage-1 4/6]",
    "[linux/arm64 stage-1 5/6]",
    "[linux/arm64 stage-1 6/6]",
  ]);
  const all = await fx.build(appContext, { noCache: true });
  // Every step but the FROM (an image is data, not a computation, and stays where it is).
  assert.equal(ranSteps(all.progress.started()).length, 2 * 6);
});

test("a stored resolution is reused; --pull asks the registry and sees a new image under the tag", async () => {
  const tag = "library/busybox:moving";
  await pushBusyboxImage(fx.registry, { name: tag });
  const ref = fx.registry.ref(tag);
  const ctx = await fx.context({
    Dockerfile: `FROM ${ref}\nRUN cat /marker 2>/dev/null || echo no-marker\n`,
  });
  const before = await fx.build(ctx, { platforms: [hostPlatform()] });
  assert.ok(before.progress.logs().includes("no-marker"));

  await pushSinglePlatformImage(fx.registry, tag, hostPlatform(), {
    extraFile: { path: "/marker", content: "new image\n" },
  });
  const cached = await fx.build(ctx, { platforms: [hostPlatform()] });
  assert.equal(
    cached.descriptor.digest,
    before.descriptor.digest,
    "without --pull the stored resolution holds",
  );
  assert.deepEqual(ranSteps(cached.progress.started()), []);

  const pulled = await fx.build(ctx, { platforms: [hostPlatform()], pull: true });
  assert.notEqual(pulled.descriptor.digest, before.descriptor.digest);
  assert.ok(pulled.progress.logs().includes("new image"));
});

test("FROM scratch with COPY --link from a stage, COPY --from an image and ADD of a URL", async () => {
  const server = createServer((req, res) => {
    res.setHeader("last-modified", new Date(1_600_000_000_000).toUTCString());
    res.end(`downloaded ${req.url}\n`);
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const port = (server.address() as AddressInfo).port;
  try {
    const ctx = await fx.context({
      Dockerfile: `FROM ${fx.base} AS b
RUN echo x > /x
FROM scratch
COPY --link --from=b /x /x
COPY --from=${fx.base} /etc/passwd /etc/passwd
ADD http://127.0.0.1:${port}/file.txt /downloaded.txt
`,
    });
    const r = await fx.build(ctx, { platforms: [hostPlatform()] });
    const image = await unpackPlatform(r.tar, hostPlatform(), fx.dir);
    assert.equal(await readFile(join(image.rootfs, "x"), "utf8"), "x\n");
    assert.match(await readFile(join(image.rootfs, "etc/passwd"), "utf8"), /^root:/);
    const downloaded = join(image.rootfs, "downloaded.txt");
    assert.equal(await readFile(downloaded, "utf8"), "downloaded /file.txt\n");
    assert.equal((await stat(downloaded)).mtimeMs, 1_600_000_000_000);
    assert.equal(image.config.rootfs.diff_ids.length, 3, "no base layers, one per step");
    const again = await fx.build(ctx, { platforms: [hostPlatform()] });
    assert.equal(again.descriptor.digest, r.descriptor.digest, "an unchanged download is cached");
  } finally {
    server.close();
  }
});

test("a Dockerfile given as text with no context (`-`) builds; a COPY from the missing context says why it fails", async () => {
  const r = await fx.build("-", {
    dockerfileText: `FROM ${fx.base}\nRUN echo from-stdin > /stdin\n`,
    platforms: [hostPlatform()],
  });
  const image = await unpackPlatform(r.tar, hostPlatform(), fx.dir);
  assert.equal(await readFile(join(image.rootfs, "stdin"), "utf8"), "from-stdin\n");
  await assert.rejects(
    fx.build("-", { dockerfileText: `FROM ${fx.base}\nCOPY a.txt /\n`, platforms: [hostPlatform()] }),
    /this build has no context/,
  );
});
