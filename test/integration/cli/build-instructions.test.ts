// What each Dockerfile instruction leaves in the image, built for two platforms through the CLI and read
// back with skopeo (configs) and umoci (files, owners, modes); plus the failures a user must see clearly.
import assert from "node:assert/strict";
import { lstat, mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { run, runOk } from "../../harness/exec.ts";
import { paths, startFaultProxy } from "../../harness/fault-proxy.ts";
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
  work = await mkdtemp(join(tmpdir(), "polyarch-instr-"));
});
after(async () => {
  await reg?.stop();
  await state?.[Symbol.asyncDispose]();
  if (work) await rm(work, { recursive: true, force: true });
});

async function context(
  name: string,
  dockerfile: string,
  files: Record<string, string> = {},
): Promise<string> {
  const dir = join(work, name);
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, "Dockerfile"), dockerfile);
  for (const [path, content] of Object.entries(files)) {
    await mkdir(join(dir, path, ".."), { recursive: true });
    await writeFile(join(dir, path), content);
  }
  return dir;
}

const env = () => ({ POLYARCH_ROOT: state.dir, DOCKER_CONFIG: state.dir, SOURCE_DATE_EPOCH: "1700000000" });

interface Config {
  architecture: string;
  created: string;
  config: Record<string, unknown>;
  history: { created_by?: string; empty_layer?: boolean; created?: string }[];
  rootfs: { diff_ids: string[] };
}

const instructions = `
ARG REGISTRY
FROM \${REGISTRY}/library/busybox:latest
SHELL ["/bin/sh", "-c"]
ENV A=1 B="two words"
WORKDIR /app
WORKDIR sub
COPY --chown=app:app --chmod=0640 data.txt ./
COPY --chmod=755 run.sh /usr/local/bin/
USER app
RUN id -u > /tmp/uid
USER root
EXPOSE 8080 53/udp
VOLUME /data
LABEL com.example.title="two words" com.example.n=1
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=30s --timeout=3s CMD ["true"]
ENTRYPOINT ["/usr/local/bin/run.sh"]
CMD ["--help"]
`;

test("every instruction's result, on linux/amd64 and linux/arm64", async () => {
  const dir = await context("instructions", instructions, {
    "data.txt": "data\n",
    "run.sh": "#!/bin/sh\necho run\n",
  });
  const archive = join(work, "instructions.tar");
  const r = await polyarch(
    [
      "build",
      "--platform",
      "linux/amd64,linux/arm64",
      "--build-arg",
      `REGISTRY=${reg.host}`,
      "--progress",
      "plain",
      "-o",
      `type=oci,dest=${archive}`,
      dir,
    ],
    { env: env() },
  );
  assert.equal(r.code, 0, r.stderr.slice(-3000));

  for (const arch of ["amd64", "arm64"]) {
    const config = JSON.parse(
      (
        await runOk("skopeo", [
          "inspect",
          "--config",
          "--raw",
          "--override-arch",
          arch,
          `oci-archive:${archive}`,
        ])
      ).stdout,
    ) as Config;
    assert.equal(config.architecture, arch);
    const c = config.config;
    assert.ok((c.Env as string[]).includes("A=1"));
    assert.ok((c.Env as string[]).includes("B=two words"));
    assert.ok(
      (c.Env as string[]).some((e) => e.startsWith("PATH=")),
      "PATH inherited from the base image",
    );
    assert.equal(c.WorkingDir, "/app/sub");
    assert.equal(c.User, "root");
    assert.deepEqual(c.ExposedPorts, { "53/udp": {}, "8080/tcp": {} });
    assert.deepEqual(c.Volumes, { "/data": {} });
    assert.deepEqual(c.Labels, { "com.example.n": "1", "com.example.title": "two words" });
    assert.equal(c.StopSignal, "SIGTERM");
    assert.deepEqual(c.Healthcheck, {
      Test: ["CMD", "true"],
      Interval: 30_000_000_000,
      Timeout: 3_000_000_000,
    });
    assert.deepEqual(c.Entrypoint, ["/usr/local/bin/run.sh"]);
    assert.deepEqual(c.Cmd, ["--help"]);
    assert.deepEqual(c.Shell, ["/bin/sh", "-c"]);
    // SOURCE_DATE_EPOCH sets the created times of the image and of every new history entry.
    assert.equal(config.created, "2023-11-14T22:13:20Z");
    const created = config.history.map((h) => h.created_by ?? "");
    assert.ok(
      created.some((h) => h === "RUN /bin/sh -c id -u > /tmp/uid # buildkit"),
      created.join("\n"),
    );
    assert.ok(
      config.history
        .filter((h) => /WORKDIR|COPY|RUN/.test(h.created_by ?? ""))
        .every((h) => h.created === "2023-11-14T22:13:20Z"),
    );
    const nonEmpty = config.history.filter((h) => !h.empty_layer).length;
    assert.equal(nonEmpty, config.rootfs.diff_ids.length, "one non-empty history entry per layer");

    // Files, owners and modes as a runtime sees them.
    const bundle = join(work, `bundle-${arch}`);
    await runOk("skopeo", [
      "copy",
      "--quiet",
      "--override-arch",
      arch,
      `oci-archive:${archive}`,
      `oci:${join(work, `layout-${arch}`)}:x`,
    ]);
    await runOk("umoci", ["unpack", "--image", `${join(work, `layout-${arch}`)}:x`, bundle]);
    const rootfs = join(bundle, "rootfs");
    const data = await lstat(join(rootfs, "app/sub/data.txt"));
    assert.equal(data.mode & 0o7777, 0o640);
    assert.deepEqual(
      [data.uid, data.gid],
      [1000, 1000],
      "--chown=app:app resolved in the image's passwd/group",
    );
    const script = await lstat(join(rootfs, "usr/local/bin/run.sh"));
    assert.equal(script.mode & 0o7777, 0o755);
    assert.deepEqual([script.uid, script.gid], [0, 0], "context files are root-owned without --chown");
    assert.equal((await readFile(join(rootfs, "tmp/uid"), "utf8")).trim(), "1000", "RUN ran as USER app");
  }
});

test("a COPY source outside the context is a positioned error, and nothing is built", async () => {
  const dir = await context(
    "outside",
    `ARG REGISTRY\nFROM \${REGISTRY}/library/busybox:latest\nCOPY ../secret.txt /x\n`,
  );
  const r = await polyarch(
    ["build", "--build-arg", `REGISTRY=${reg.host}`, "-o", `type=oci,dest=${join(work, "x.tar")}`, dir],
    { env: env() },
  );
  assert.equal(r.code, 1);
  assert.match(r.stderr, /Dockerfile:3:\d+: .*outside (of )?the (build )?context/i);
});

test("a failing RUN names its Dockerfile line, command, exit code and last output", async () => {
  const dir = await context(
    "failing",
    `ARG REGISTRY\nFROM \${REGISTRY}/library/busybox:latest\nRUN echo about to fail && echo oops >&2 && exit 3\n`,
  );
  const r = await polyarch(
    [
      "build",
      "--build-arg",
      `REGISTRY=${reg.host}`,
      "--progress",
      "plain",
      "-o",
      `type=oci,dest=${join(work, "f.tar")}`,
      dir,
    ],
    { env: env() },
  );
  assert.equal(r.code, 1);
  assert.match(r.stderr, /Dockerfile:3/);
  assert.match(r.stderr, /exit code:? 3|exited with 3|code 3/);
  assert.match(r.stderr, /oops/);
});

test("a push cut off for good fails clearly and leaves no tag behind", async () => {
  await using proxy = await startFaultProxy(reg);
  // Every blob upload's final PUT is reset: no blob can land, so no manifest and no tag may appear.
  proxy.addFault({ method: "PUT", path: paths.upload, fault: { kind: "reset" } });
  const dir = await context(
    "cut",
    `ARG REGISTRY\nFROM \${REGISTRY}/library/busybox:latest\nRUN echo cut > /cut\n`,
  );
  const r = await polyarch(
    [
      "build",
      "--platform",
      "linux/amd64,linux/arm64",
      "--build-arg",
      `REGISTRY=${reg.host}`,
      "-t",
      proxy.ref("cut/app:1"),
      "--push",
      dir,
    ],
    { env: env() },
  );
  assert.equal(r.code, 1);
  assert.match(r.stderr, /^error: /m);
  assert.ok(proxy.injected("reset") > 0);
  const inspect = await run("skopeo", [
    "inspect",
    "--raw",
    ...reg.skopeoFlags(),
    `docker://${reg.ref("cut/app:1")}`,
  ]);
  assert.notEqual(inspect.code, 0, "the tag must not exist");
});
