// The README's main job, end to end on this machine, daemonless: a local registry with a multi-arch busybox
// base image (built from Debian's busybox-static), then
//
//   polyarch build --platform linux/amd64,linux/arm64,linux/arm/v7 -t REG/cross-compile:1 --push .
//
// of this directory's Dockerfile (a BUILDPLATFORM builder stage cross-"compiling" per TARGETARCH, a runtime
// stage per target with one RUN under QEMU for the foreign CPUs). Each platform's image is then pulled from
// the one tag by an independent tool (skopeo --override-arch), unpacked with umoci and run with runc, and a
// second build shows every step CACHED with the same digest.
//
//   node examples/cross-compile/run.ts        (after scripts/setup, as root)
import { execFile, spawn } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { pushBusyboxImage } from "../../test/harness/images.ts";
import { startRegistry } from "../../test/harness/registry.ts";
import { runImage } from "../../test/harness/run-image.ts";

const run = promisify(execFile);
const repo = new URL("../../", import.meta.url).pathname;
const exampleDir = join(repo, "examples/cross-compile");
const targets = [
  { platform: "linux/amd64", arch: "amd64", variant: undefined, machine: "x86_64" },
  { platform: "linux/arm64", arch: "arm64", variant: undefined, machine: "aarch64" },
  { platform: "linux/arm/v7", arch: "arm", variant: "v7", machine: "armv7l" },
] as const;

function say(line: string): void {
  process.stdout.write(`${line}\n`);
}

/** Runs polyarch with its output shown live, as a user would see it. */
function polyarch(args: string[], env: NodeJS.ProcessEnv): Promise<void> {
  say(`\n$ polyarch ${args.join(" ")}`);
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(repo, "bin/polyarch.mjs"), ...args], {
      stdio: "inherit",
      env,
    });
    child.on("error", reject);
    child.on("close", (code) => (code === 0 ? resolve() : reject(new Error(`polyarch exited with ${code}`))));
  });
}

async function main(): Promise<void> {
  await run(process.execPath, [join(repo, "scripts/bundle.mjs")]);
  const work = await mkdtemp(join(tmpdir(), "polyarch-example-"));
  const reg = await startRegistry();
  const env = {
    ...process.env,
    POLYARCH_ROOT: join(work, "state"),
    BUILDKIT_PROGRESS: process.env.BUILDKIT_PROGRESS ?? "plain",
  };
  try {
    const base = await pushBusyboxImage(reg);
    say(`local registry ${reg.host} holds ${base.ref} (linux/amd64, linux/arm64, linux/arm/v7)`);

    const tag = reg.ref("cross-compile:1");
    const iid = join(work, "iid");
    const buildArgs = [
      "build",
      "--platform",
      targets.map((t) => t.platform).join(","),
      "--build-arg",
      `REGISTRY=${reg.host}`,
    ];
    await polyarch([...buildArgs, "-t", tag, "--push", "--iidfile", iid, exampleDir], env);
    const digest = (await readFile(iid, "utf8")).trim();

    await polyarch(["imagetools", "inspect", tag], env);

    say("\none tag, every CPU: each platform pulled from the tag by skopeo and run with runc");
    let failures = 0;
    for (const t of targets) {
      const line = await runImage({
        source: `docker://${tag}`,
        architecture: t.arch,
        variant: t.variant,
        workDir: work,
        skopeoFlags: ["--src-tls-verify=false"],
      });
      const ok = line.includes(`running on ${t.machine}`) && line.includes(`hello from ${t.platform}`);
      if (!ok) failures++;
      say(`  ${t.platform.padEnd(13)} ${line}${ok ? "" : "   <-- unexpected"}`);
    }

    const iid2 = join(work, "iid2");
    await polyarch([...buildArgs, "-t", tag, "--push", "--iidfile", iid2, exampleDir], env);
    const again = (await readFile(iid2, "utf8")).trim();
    say(`\nsecond build: ${again === digest ? "same digest" : "DIFFERENT digest"} ${again}`);
    if (again !== digest) failures++;

    if (failures) {
      process.exitCode = 1;
      say(`\n${failures} check(s) failed`);
    } else {
      say(
        "\nexample complete: one multi-platform tag built daemonless and verified on linux/amd64, linux/arm64 and linux/arm/v7",
      );
    }
  } finally {
    await reg.stop();
    await rm(work, { recursive: true, force: true });
  }
}

await main();
