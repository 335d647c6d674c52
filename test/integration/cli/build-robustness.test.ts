// Through the CLI a user runs: a hostile base image never writes outside its snapshot, and Ctrl-C stops a
// build cleanly (no container, no mount left) with the next build reusing what finished.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import type { Digest } from "../../../src/oci/digest.ts";
import { parsePlatform } from "../../../src/oci/platform.ts";
import { run } from "../../harness/exec.ts";
import { FixtureLayout } from "../../harness/fixture-layout.ts";
import { busyboxLayout, skopeoPushLayout } from "../../harness/images.ts";
import { startRegistry, type TestRegistry } from "../../harness/registry.ts";
import { polyarch, tempStateRoot } from "../../support/cli.ts";
import { cachedNames, logsByVertex, solveStatuses } from "../../support/solve-status.ts";

const repo = new URL("../../../", import.meta.url).pathname;
let reg: TestRegistry;
let state: Awaited<ReturnType<typeof tempStateRoot>>;
let work: string;
/** A host directory a hostile layer aims at; it must stay empty. */
let target: string;

before(async () => {
  reg = await startRegistry();
  state = await tempStateRoot();
  work = await mkdtemp(join(tmpdir(), "polyarch-robust-"));
  target = await mkdtemp(join(tmpdir(), "polyarch-hostile-target-"));
});
after(async () => {
  await reg?.stop();
  await state?.[Symbol.asyncDispose]();
  for (const d of [work, target]) if (d) await rm(d, { recursive: true, force: true });
});

/** Pushes busybox (amd64) plus one hand-written layer whose entries try to escape the rootfs. */
async function pushHostile(name: string, entries: Parameters<FixtureLayout["writeLayer"]>[0]): Promise<void> {
  const base = await busyboxLayout();
  const amd64 = base.manifests.find((m) => m.platform?.architecture === "amd64")!;
  const baseManifest = JSON.parse((await base.layout.readBlob(amd64.digest)).toString()) as {
    config: { digest: Digest };
    layers: { digest: Digest; size: number }[];
  };
  const baseConfig = JSON.parse((await base.layout.readBlob(baseManifest.config.digest)).toString()) as {
    rootfs: { diff_ids: Digest[] };
  };
  const dir = await mkdtemp(join(work, "layout-"));
  const layout = await new FixtureLayout(dir).init();
  const layers = [];
  for (const [i, l] of baseManifest.layers.entries()) {
    await layout.linkBlobFrom(base.layout, l.digest);
    layers.push({
      digest: l.digest,
      size: l.size,
      diffId: baseConfig.rootfs.diff_ids[i]!,
      createdBy: "busybox",
    });
  }
  layers.push({ ...(await layout.writeLayer(entries)), createdBy: "hostile layer" });
  const { manifest } = await layout.writeImage(parsePlatform("linux/amd64"), layers);
  layout.tag("img", manifest);
  await layout.finish();
  await skopeoPushLayout(dir, "img", reg, name);
}

async function contextWith(name: string, dockerfile: string): Promise<string> {
  const dir = join(work, name);
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, "Dockerfile"), dockerfile);
  return dir;
}

const env = () => ({ POLYARCH_ROOT: state.dir, DOCKER_CONFIG: state.dir });

test("a base layer's symlink to a host path, and a file written through it, stay inside the rootfs", async () => {
  await pushHostile("hostile/symlink:1", [
    { path: "escape", type: "symlink", mode: 0o777, linkname: target },
    { path: "escape/pwned", type: "file", mode: 0o644, content: Buffer.from("written through the link\n") },
    { path: "abs", type: "symlink", mode: 0o777, linkname: "/../../../../../" },
    { path: "abs/also-pwned", type: "file", mode: 0o644, content: Buffer.from("x\n") },
  ]);
  const dir = await contextWith(
    "symlink",
    `FROM ${reg.ref("hostile/symlink:1")}\nRUN cat /escape/pwned > /seen\n`,
  );
  const r = await polyarch(
    ["build", "--progress", "plain", "-o", `type=local,dest=${join(work, "out-symlink")}`, dir],
    { env: env() },
  );
  assert.equal(r.code, 0, r.stderr.slice(-3000));
  assert.deepEqual(await readdir(target), [], "nothing written on the host");
  assert.equal(await readFile(join(work, "out-symlink", "seen"), "utf8"), "written through the link\n");
  assert.equal(
    await readFile(join(work, "out-symlink", target, "pwned"), "utf8"),
    "written through the link\n",
  );
});

test("a base layer entry that climbs out with .. is refused with an error naming it", async () => {
  const climb = `../../../../../../..${target}/dotdot`;
  await pushHostile("hostile/dotdot:1", [
    { path: climb, type: "file", mode: 0o644, content: Buffer.from("x\n") },
  ]);
  const dir = await contextWith("dotdot", `FROM ${reg.ref("hostile/dotdot:1")}\nRUN true\n`);
  const r = await polyarch(["build", "-o", `type=oci,dest=${join(work, "dotdot.tar")}`, dir], { env: env() });
  assert.equal(r.code, 1);
  assert.match(r.stderr, /^error: .*\.\.\/.*dotdot/m);
  assert.deepEqual(await readdir(target), [], "nothing written on the host");
});

test("Ctrl-C stops a running step, leaves no container or mount, and the next build reuses what finished", async () => {
  const { pushBusyboxImage } = await import("../../harness/images.ts");
  await pushBusyboxImage(reg);
  const dir = await contextWith(
    "interrupt",
    `FROM ${reg.ref("library/busybox:latest")}\nRUN echo first > /first\nRUN echo sleeping && sleep 60 && echo never > /never\n`,
  );
  const args = [
    join(repo, "bin/polyarch.mjs"),
    "build",
    "--platform",
    "linux/amd64",
    "--progress",
    "rawjson",
    "-o",
    `type=oci,dest=${join(work, "i.tar")}`,
    dir,
  ];
  const child = spawn(process.execPath, args, {
    env: { ...process.env, ...env() },
    stdio: ["ignore", "ignore", "pipe"],
  });
  let stderr = "";
  const started = new Promise<void>((resolve) => {
    child.stderr.on("data", (d: Buffer) => {
      stderr += d.toString();
      const lines = solveStatuses(stderr.slice(0, stderr.lastIndexOf("\n") + 1));
      if ([...logsByVertex(lines).values()].some((text) => text.includes("sleeping"))) resolve();
    });
  });
  const exited = new Promise<number | null>((resolve) => child.on("close", (code) => resolve(code)));
  await Promise.race([started, exited]);
  child.kill("SIGINT");
  const code = await Promise.race([exited, new Promise<"hung">((r) => setTimeout(() => r("hung"), 30_000))]);
  assert.notEqual(code, "hung", "the build stopped after Ctrl-C");
  assert.notEqual(code, 0);
  assert.match(stderr, /canceled|interrupted/);

  const runcRoot = join(state.dir, "solver", "exec", "runc");
  const list = await run("runc", ["--root", runcRoot, "list", "-q"]);
  assert.equal(list.stdout.trim(), "", "no runc container left");
  const mounts = await readFile("/proc/mounts", "utf8");
  assert.ok(!mounts.includes(state.dir), "no mount left under the state directory");

  // The next build finds the first RUN in the cache.
  const again = await polyarch(
    [
      "build",
      "--platform",
      "linux/amd64",
      "--progress",
      "rawjson",
      "-o",
      `type=oci,dest=${join(work, "i2.tar")}`,
      await contextWith("interrupt2", `FROM ${reg.ref("library/busybox:latest")}\nRUN echo first > /first\n`),
    ],
    { env: env() },
  );
  assert.equal(again.code, 0, again.stderr.slice(-2000));
  assert.ok(
    cachedNames(solveStatuses(again.stderr)).some((name) => name.includes("echo first")),
    "the finished step is reused",
  );
});
