import assert from "node:assert/strict";
import { once } from "node:events";
import { createServer, type Socket } from "node:net";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { ControlClient } from "../../../src/buildkit/control-client.ts";
import {
  endpointFromDriverOpts,
  inspectBuildKitNode,
  probeBuildKitNode,
} from "../../../src/buildkit/index.ts";
import { UserError } from "../../../src/errors/user-error.ts";
import { type BuildKit, startBuildKit } from "../../harness/buildkit.ts";
import { run } from "../../harness/exec.ts";

// What polyarch's client reads of a real buildkitd, checked against what buildctl (BuildKit's own
// client) prints for the same daemon.
let bk: BuildKit & { state: string };
before(async () => {
  bk = await startBuildKit([]);
});
after(() => bk?.stop());

const buildctl = (...args: string[]) =>
  run(join(bk.state, "bin", "buildctl"), ["--addr", bk.address, ...args]);

test("Info reports the daemon's version, as buildctl debug info does", async () => {
  const client = new ControlClient({ address: bk.address });
  try {
    const v = await client.info();
    assert.equal(v.version, "v0.24.0");
    assert.equal(v.package, "github.com/moby/buildkit");
    const info = await buildctl("debug", "info");
    assert.match(info.stdout, new RegExp(v.revision));
  } finally {
    client.close();
  }
});

test("ListWorkers gives the worker's platforms, the ones buildctl debug workers lists", async () => {
  const client = new ControlClient({ address: bk.address });
  try {
    const workers = await client.listWorkers();
    assert.equal(workers.length, 1);
    const platforms = workers[0]!.platforms.map(
      (p) => `${p.os}/${p.architecture}${p.variant ? `/${p.variant}` : ""}`,
    );
    assert.ok(platforms.includes("linux/amd64"));
    assert.ok(platforms.includes("linux/arm64"), `arm64 (QEMU) is missing from ${platforms.join(",")}`);
    const listed = await buildctl("debug", "workers", "--format", "{{json .}}");
    for (const p of platforms) assert.ok(listed.stdout.includes(`"architecture":"${p.split("/")[1]}"`), p);
    assert.equal(workers[0]!.id, JSON.parse(listed.stdout.trim().split("\n")[0]!)[0].id);
  } finally {
    client.close();
  }
});

test("DiskUsage and Prune see the same cache records as buildctl du", async () => {
  const client = new ControlClient({ address: bk.address });
  try {
    const records = await client.diskUsage();
    const du = await buildctl("du", "--format", "{{json .}}");
    assert.equal(du.code, 0, du.stderr);
    const theirs = (du.stdout.trim() === "" ? null : JSON.parse(du.stdout)) as { id: string }[] | null;
    assert.deepEqual(records.map((r) => r.id).sort(), (theirs ?? []).map((r) => r.id).sort());
    const pruned = await client.prune({ all: true });
    assert.ok(Array.isArray(pruned));
    const afterPrune = await client.diskUsage();
    assert.ok(afterPrune.filter((r) => !r.inUse).length === 0);
  } finally {
    client.close();
  }
});

test("an unreachable daemon is one UserError naming the endpoint", async () => {
  for (const address of ["unix:///nonexistent/buildkitd.sock", "tcp://127.0.0.1:1"]) {
    const client = new ControlClient({ address });
    try {
      await assert.rejects(client.info(), (e: unknown) => {
        assert.ok(e instanceof UserError);
        assert.match(
          e.message,
          new RegExp(`^BuildKit node ${address.replace(/[/.]/g, "\\$&")}: cannot connect`),
        );
        assert.ok(!e.message.includes("\n"));
        return true;
      });
    } finally {
      client.close();
    }
  }
});

test("a malformed endpoint is refused before any connection", () => {
  assert.throws(() => new ControlClient({ address: "http://127.0.0.1:1234" }), /not a BuildKit endpoint/);
  assert.throws(
    () => new ControlClient({ address: "unix:///run/b.sock", cacert: "/x" }),
    /TLS options are for tcp:\/\/ endpoints/,
  );
});

test("inspectBuildKitNode gives what ls/inspect show: version and de-duplicated platforms", async () => {
  const node = await inspectBuildKitNode(endpointFromDriverOpts(bk.address, {}));
  assert.equal(node.version, "v0.24.0");
  const names = node.platforms.map((p) => `${p.os}/${p.architecture}${p.variant ? `/${p.variant}` : ""}`);
  assert.ok(names.includes("linux/arm64") && names.includes("linux/amd64"), names.join(","));
  assert.equal(new Set(names).size, names.length);
  assert.throws(() => endpointFromDriverOpts(bk.address, { bogus: "1" }), /unknown driver option bogus/);
  const up = await probeBuildKitNode({ address: bk.address });
  assert.ok(up.ok && up.info.version === "v0.24.0");
  const down = await probeBuildKitNode({ address: "unix:///nonexistent/bk.sock" });
  assert.ok(!down.ok && down.error.includes("unix:///nonexistent/bk.sock") && down.hint);
});

test("a daemon that accepts but never answers is 'no answer in time', not a hang", async () => {
  const sockets: Socket[] = [];
  const silent = createServer((s) => sockets.push(s)).listen(0, "127.0.0.1");
  await once(silent, "listening");
  const address = `tcp://127.0.0.1:${(silent.address() as { port: number }).port}`;
  const client = new ControlClient({ address }, { timeoutMs: 500 });
  try {
    await assert.rejects(client.info(), (e: unknown) => {
      assert.ok(e instanceof UserError, String(e));
      assert.match(
        e.message,
        new RegExp(`^BuildKit node ${address.replace(/[/.]/g, "\\$&")}: no answer in time`),
      );
      return true;
    });
  } finally {
    client.close();
    for (const s of sockets) s.destroy();
    silent.close();
  }
});
