// Issue 11's bench: the small 2-platform build on a 2-node ssh builder (two sshd on 127.0.0.2/.3, each
// node polyarch from this checkout with its own state dir) beside the same build on one machine, both in
// this run, interleaved. The difference is the remote path's overhead: ssh sessions, graph and context
// shipping, result blobs back. Measured cold (fresh state everywhere) and fully cached, with a small
// context and with one of --mb MB (random, so it does not compress), giving overhead per step and per MB.
//   node bench/farm.ts [--runs 3] [--mb 32]
import { randomBytes } from "node:crypto";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { pushBusyboxImage } from "../test/harness/images.ts";
import { startRegistry } from "../test/harness/registry.ts";
import { startSshNodes } from "../test/harness/ssh-nodes.ts";
import { polyarch } from "../test/support/cli.ts";

const { values } = parseArgs({
  options: { runs: { type: "string", default: "3" }, mb: { type: "string", default: "32" } },
});
const runs = Number(values.runs);
const mb = Number(values.mb);

const farm = await startSshNodes(["amd", "arm"]);
const reg = await startRegistry();
const work = await mkdtemp(join(tmpdir(), "polyarch-bench-farm-"));
try {
  await pushBusyboxImage(reg);
  const contexts: Record<string, string> = {};
  for (const [name, size] of [
    ["small", 0],
    ["big", mb],
  ] as const) {
    const dir = join(work, `ctx-${name}`);
    await mkdir(dir);
    await writeFile(
      join(dir, "Dockerfile"),
      `FROM ${reg.host}/library/busybox:latest\nCOPY data /data\nRUN uname -m > /arch\nRUN wc -c /data > /size\n`,
    );
    await writeFile(join(dir, "data"), size ? randomBytes(size * 1024 * 1024) : "x\n");
    contexts[name] = dir;
  }
  const config = join(work, "config");
  const [amd, arm] = farm.nodes;
  const base = { XDG_CONFIG_HOME: config, ...farm.env };
  await polyarch(["create", "--name", "farm", "--node", "amd", "--platform", "linux/amd64", amd!.endpoint], {
    env: base,
  });
  await polyarch(
    ["create", "--name", "farm", "--node", "arm", "--append", "--platform", "linux/arm64", arm!.endpoint],
    { env: base },
  );

  const time = async (builder: string, ctx: string, state: string) => {
    const t = performance.now();
    const r = await polyarch(
      [
        "build",
        "--builder",
        builder,
        "--progress",
        "quiet",
        "--platform",
        "linux/amd64,linux/arm64",
        "-o",
        `type=oci,dest=${join(work, "out.tar")}`,
        ctx,
      ],
      { env: { ...base, POLYARCH_ROOT: state } },
    );
    if (r.code !== 0) throw new Error(r.stderr.slice(-2000));
    return performance.now() - t;
  };
  const results: Record<string, number[]> = {};
  const add = (k: string, v: number) => {
    results[k] ??= [];
    results[k].push(v);
  };
  for (let i = 0; i < runs; i++) {
    for (const ctx of ["small", "big"]) {
      for (const builder of ["farm", "default"]) {
        // Cold: fresh state on the client and on both nodes.
        const state = join(work, `state-${i}-${ctx}-${builder}`);
        for (const n of farm.nodes)
          await rm(n.stateRoot, { recursive: true, force: true }).then(() =>
            mkdir(n.stateRoot, { recursive: true, mode: 0o700 }),
          );
        add(`${builder} ${ctx} cold`, await time(builder, contexts[ctx]!, state));
        add(`${builder} ${ctx} cached`, await time(builder, contexts[ctx]!, state));
        await rm(state, { recursive: true, force: true });
      }
    }
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  console.log(`runs ${runs}, big context ${mb} MB, 2 platforms, 4 steps each (FROM, COPY, 2 RUN)`);
  for (const k of Object.keys(results))
    console.log(`${k.padEnd(22)} ${median(results[k]!).toFixed(0).padStart(7)} ms`);
  const m = (k: string) => median(results[k]!);
  const steps = 8;
  console.log(
    `cached overhead: ${(m("farm small cached") - m("default small cached")).toFixed(0)} ms per build, ${((m("farm small cached") - m("default small cached")) / steps).toFixed(0)} ms per step`,
  );
  console.log(
    `cold overhead: ${(m("farm small cold") - m("default small cold")).toFixed(0)} ms per build, ${((m("farm small cold") - m("default small cold")) / steps).toFixed(0)} ms per step`,
  );
  const perMb =
    (m("farm big cold") - m("farm small cold") - (m("default big cold") - m("default small cold"))) / mb;
  console.log(`per MB of context shipped and layer returned (cold, both nodes): ${perMb.toFixed(1)} ms/MB`);
} finally {
  await farm[Symbol.asyncDispose]();
  await reg.stop();
  await rm(work, { recursive: true, force: true });
}
