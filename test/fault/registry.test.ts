// Registry faults through the CLI a user runs: builds pull their base image, and push their result, through
// a proxy that breaks 30 % of requests at random (503, 429 with Retry-After, resets, bodies cut midway). Every
// build must succeed, and every pushed tag must be complete when read from the registry itself.
import assert from "node:assert/strict";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { connect, createServer, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { runOk } from "../harness/exec.ts";
import { type Fault, startFaultProxy } from "../harness/fault-proxy.ts";
import { pushBusyboxImage } from "../harness/images.ts";
import { startRegistry, type TestRegistry } from "../harness/registry.ts";
import { polyarch } from "../support/cli.ts";

const runs = 20;
const rate = 0.3;
/** A seed from the environment replays a run; otherwise a fresh one, printed as a diagnostic. */
const seed = Number(process.env.POLYARCH_FAULT_SEED ?? Math.floor(Math.random() * 2 ** 31));

const faults: Fault[] = [
  { kind: "status", status: 503 },
  { kind: "status", status: 502 },
  { kind: "status", status: 429, retryAfter: 0 },
  { kind: "status", status: 429, retryAfter: 1 },
  { kind: "reset" },
  { kind: "reset" },
  { kind: "cut-body", afterBytes: 100 },
  { kind: "cut-body", afterBytes: 100 },
];

let reg: TestRegistry;
let work: string;

before(async () => {
  reg = await startRegistry();
  await pushBusyboxImage(reg);
  work = await mkdtemp(join(tmpdir(), "polyarch-fault-registry-"));
});
after(async () => {
  await reg?.stop();
  if (work) await rm(work, { recursive: true, force: true });
});

async function context(name: string, dockerfile: string, file: string): Promise<string> {
  const dir = join(work, name);
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, "Dockerfile"), dockerfile);
  await writeFile(join(dir, "file"), file);
  return dir;
}

/**
 * Runs `count` builds, `lanes` at a time: most of a faulted build's time is back-off sleep, which overlaps
 * well on two cores. Each lane keeps its own state directory.
 */
async function inLanes(count: number, lanes: number, build: (i: number, lane: number) => Promise<void>) {
  let next = 0;
  await Promise.all(
    Array.from({ length: lanes }, async (_, lane) => {
      for (let i = next++; i < count; i = next++) await build(i, lane);
    }),
  );
}

const lanes = 4;

function summary(failures: string[]): string {
  return failures.map((f) => f.slice(0, 2000)).join("\n---\n");
}

test("fault: builds pull their base through 30 % random registry faults", async (t) => {
  t.diagnostic(`fault seed: ${seed} (replay with POLYARCH_FAULT_SEED=${seed})`);
  await using proxy = await startFaultProxy(reg);
  proxy.addFault({ rate, seed, fault: faults });
  const failures: string[] = [];
  await inLanes(runs, lanes, async (i) => {
    // A fresh state directory per build: nothing cached, so each one pulls index, manifests and blobs.
    const state = await mkdtemp(join(work, "pull-state-"));
    const ctx = await context(
      `pull-${i}`,
      `FROM ${proxy.ref("library/busybox:latest")}\nCOPY file /file\n`,
      `pull ${i}\n`,
    );
    const out = join(work, `pull-${i}.tar`);
    const r = await polyarch(
      ["build", "--platform", "linux/amd64,linux/arm64", "--output", `type=oci,dest=${out}`, ctx],
      { env: { POLYARCH_ROOT: state, DOCKER_CONFIG: state } },
    );
    if (r.code !== 0) failures.push(`pull ${i}: ${r.stderr}`);
    await rm(state, { recursive: true, force: true });
  });
  t.diagnostic(`figure: pulls through 30 % faults: ${runs}, failed: ${failures.length}`);
  t.diagnostic(`figure: faults injected during the pulls: ${proxy.injected()}`);
  assert.deepEqual(failures, [], summary(failures));
  assert.ok(proxy.injected("cut-body") > 0 && proxy.injected("reset") > 0 && proxy.injected("status") > 0);
  assert.ok(
    proxy.log.some((f) => f.kind === "cut-body" && /\/manifests\//.test(f.path)),
    "some manifest body was cut midway",
  );
});

test("fault: build --push through 30 % random registry faults leaves every tag complete", async (t) => {
  t.diagnostic(`fault seed: ${seed + 1} (replay with POLYARCH_FAULT_SEED=${seed})`);
  await using proxy = await startFaultProxy(reg);
  proxy.addFault({ rate, seed: seed + 1, fault: faults });
  // One state directory per lane: the base is pulled once, each push then uploads its own new layer and
  // manifests, and mounts or uploads the base layers into its own repository.
  const states = await Promise.all(Array.from({ length: lanes }, () => mkdtemp(join(work, "push-state-"))));
  const failures: string[] = [];
  await inLanes(runs, lanes, async (i, lane) => {
    const state = states[lane]!;
    const ctx = await context(
      `push-${i}`,
      `FROM ${proxy.ref("library/busybox:latest")}\nCOPY file /file\n`,
      `push ${i}\n`,
    );
    const tag = `pushed/app-${i}:1`;
    const r = await polyarch(
      ["build", "--platform", "linux/amd64,linux/arm64", "-t", proxy.ref(tag), "--push", ctx],
      { env: { POLYARCH_ROOT: state, DOCKER_CONFIG: state } },
    );
    if (r.code !== 0) {
      failures.push(`push ${i}: ${r.stderr}`);
      return;
    }
    // Straight from the registry, not the proxy: skopeo copies the whole index and checks every digest.
    const copy = await mkdtemp(join(work, "copy-"));
    await runOk("skopeo", [
      "copy",
      "--all",
      "--quiet",
      ...reg.skopeoFlags("src"),
      `docker://${reg.ref(tag)}`,
      `oci:${copy}:x`,
    ]);
    await rm(copy, { recursive: true, force: true });
  });
  for (const state of states) await rm(state, { recursive: true, force: true });
  t.diagnostic(`figure: pushes through 30 % faults: ${runs}, failed: ${failures.length}`);
  t.diagnostic(`figure: faults injected during the pushes: ${proxy.injected()}`);
  assert.deepEqual(failures, [], summary(failures));
  assert.ok(proxy.injected("reset") > 0 && proxy.injected("status") > 0);
});

/**
 * A TCP forwarder to the registry that "restarts" it: at the first manifest PUT it drops every connection
 * and stops listening (connections are refused), then listens on the same port again after `downMs`.
 */
async function restartingRegistry(target: TestRegistry, downMs: number) {
  const upstream = new URL(target.url);
  const sockets = new Set<Socket>();
  let restarted = false;
  let relisten: NodeJS.Timeout | undefined;
  const server = createServer((client) => {
    const up = connect(Number(upstream.port), upstream.hostname);
    for (const s of [client, up]) {
      sockets.add(s);
      s.on("close", () => sockets.delete(s));
      s.on("error", () => {});
    }
    client.on("data", (chunk: Buffer) => {
      if (!restarted && /^PUT \/v2\/[^ ]+\/manifests\//.test(chunk.toString("latin1", 0, 200))) {
        restarted = true;
        server.close();
        for (const s of sockets) s.destroy();
        relisten = setTimeout(() => server.listen(port, "127.0.0.1"), downMs);
        return;
      }
      up.write(chunk);
    });
    up.pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as { port: number }).port;
  return {
    host: `127.0.0.1:${port}`,
    get restarted() {
      return restarted;
    },
    close: () => {
      clearTimeout(relisten);
      for (const s of sockets) s.destroy();
      server.close();
    },
  };
}

test("fault: build --push survives the registry restarting mid-push (connections refused for a second)", async () => {
  const registry = await restartingRegistry(reg, 1000);
  const state = await mkdtemp(join(work, "restart-state-"));
  try {
    const ctx = await context("restart", "FROM scratch\nCOPY file /file\n", "restart\n");
    const tag = "pushed/restart:1";
    const r = await polyarch(["--debug", "build", "-t", `${registry.host}/${tag}`, "--push", ctx], {
      env: { POLYARCH_ROOT: state, DOCKER_CONFIG: state },
    });
    assert.ok(registry.restarted, "the registry went away during the push");
    assert.equal(r.code, 0, r.stderr);
    // The first manifest PUT is the image's (by digest): the default provenance makes the tag an index.
    assert.match(
      r.stderr,
      /manifests\/sha256:[0-9a-f]{64} -> ECONNREFUSED/,
      "the push met a refused connection",
    );
    await runOk("skopeo", ["inspect", "--raw", ...reg.skopeoFlags(), `docker://${reg.ref(tag)}`]);
  } finally {
    registry.close();
    await rm(state, { recursive: true, force: true });
  }
});
