import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { VertexLocks } from "../../../src/solver/vertex-lock.ts";

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), "polyarch-locks-"));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("vertex locks", () => {
  it("make a second taker wait for the release, and tell it that it waited", async () => {
    const locks = new VertexLocks(dir);
    const first = await locks.acquire("k");
    assert.equal(first.waited, false);
    const order: string[] = [];
    const second = locks.acquire("k").then((l) => {
      order.push("second");
      return l;
    });
    await new Promise((r) => setTimeout(r, 50));
    order.push("release");
    await first.release();
    const l = await second;
    assert.deepEqual(order, ["release", "second"]);
    assert.equal(l.waited, true);
    await l.release();
  });

  it("take over a lock whose owner is dead", async () => {
    // A pid far above pid_max's default is never a live process.
    await writeFile(join(dir, "stale.lock"), "99999999\n");
    const l = await new VertexLocks(dir).acquire("stale");
    assert.equal(l.waited, false);
    await l.release();
  });

  it("stop waiting when the build is aborted", async () => {
    const locks = new VertexLocks(dir);
    const held = await locks.acquire("busy");
    const controller = new AbortController();
    const waiting = locks.acquire("busy", controller.signal);
    controller.abort(new Error("stop"));
    await assert.rejects(waiting, /stop/);
    await held.release();
  });
});
