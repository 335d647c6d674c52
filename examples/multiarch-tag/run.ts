// The README's main job, end to end on this machine: three single-architecture images (amd64, arm64,
// arm/v7, built from Debian's busybox-static) are pushed to a local registry as separate tags, `polyarch
// imagetools create` turns them into one multi-platform tag, and each platform's image is then pulled from
// that one tag by an independent tool (skopeo --override-arch), unpacked with umoci and run with runc —
// natively or under QEMU — to show that one tag serves every CPU. Last, `polyarch build --call outline`
// reads the example's cross-compiling Dockerfile.
//
//   node examples/multiarch-tag/run.ts        (after scripts/setup, as root)
import { execFile } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { formatPlatform, type Platform, parsePlatform } from "../../src/oci/platform.ts";
import { pushSinglePlatformImage } from "../../test/harness/images.ts";
import { startRegistry } from "../../test/harness/registry.ts";
import { runImage } from "../../test/harness/run-image.ts";

const run = promisify(execFile);
const repo = new URL("../../", import.meta.url).pathname;
const polyarch = (...args: string[]) =>
  run(process.execPath, [join(repo, "bin/polyarch.mjs"), ...args], { encoding: "utf8" });

const platforms: Platform[] = ["linux/amd64", "linux/arm64", "linux/arm/v7"].map(parsePlatform);
const expectedMachine: Record<string, string> = {
  "linux/amd64": "x86_64",
  "linux/arm64": "aarch64",
  "linux/arm/v7": "armv7l",
};

function say(line: string): void {
  process.stdout.write(`${line}\n`);
}

async function main(): Promise<void> {
  await run(process.execPath, [join(repo, "scripts/bundle.mjs")]);
  const work = await mkdtemp(join(tmpdir(), "polyarch-example-"));
  const reg = await startRegistry();
  const env = { ...process.env, POLYARCH_ROOT: join(work, "state") };
  try {
    say(`local registry: ${reg.host}`);
    const sources: string[] = [];
    for (const p of platforms) {
      const tag = `app:${formatPlatform(p).replaceAll("/", "-")}`;
      const pushed = await pushSinglePlatformImage(reg, tag, p, {
        extraFile: { path: "/app/built-for", content: `${formatPlatform(p)}\n` },
      });
      sources.push(pushed.ref);
      say(`pushed single-platform image ${pushed.ref} (${formatPlatform(p)})`);
    }

    const target = reg.ref("app:1");
    say(`\n$ polyarch imagetools create -t ${target} ${sources.join(" ")}`);
    const created = await run(
      process.execPath,
      [join(repo, "bin/polyarch.mjs"), "imagetools", "create", "-t", target, ...sources],
      { encoding: "utf8", env },
    );
    process.stdout.write(created.stdout);

    say(`\n$ polyarch imagetools inspect ${target}`);
    process.stdout.write((await polyarch("imagetools", "inspect", target)).stdout);

    say("\none tag, every CPU: each platform pulled from the same tag and run with runc");
    let failures = 0;
    for (const p of platforms) {
      const machine = await runImage({
        source: `docker://${target}`,
        architecture: p.architecture,
        variant: p.variant,
        workDir: work,
        args: ["uname", "-m"],
        skopeoFlags: ["--src-tls-verify=false"],
      });
      const ok = machine === expectedMachine[formatPlatform(p)];
      if (!ok) failures++;
      say(
        `  ${formatPlatform(p).padEnd(13)} uname -m: ${machine.padEnd(8)} ${ok ? "ok" : `expected ${expectedMachine[formatPlatform(p)]}`}`,
      );
    }

    const dockerfileDir = join(repo, "examples/multiarch-tag");
    say(`\n$ polyarch build --call outline ${dockerfileDir}`);
    process.stdout.write((await polyarch("build", "--call", "outline", dockerfileDir)).stdout);
    say(`$ polyarch build --call targets ${dockerfileDir}`);
    process.stdout.write((await polyarch("build", "--call", "targets", dockerfileDir)).stdout);

    if (failures) {
      process.exitCode = 1;
      say(`\n${failures} platform(s) did not run as expected`);
    } else {
      say(
        "\nexample complete: one multi-platform tag, verified on linux/amd64, linux/arm64 and linux/arm/v7",
      );
    }
  } finally {
    await reg.stop();
    await rm(work, { recursive: true, force: true });
  }
}

await main();
