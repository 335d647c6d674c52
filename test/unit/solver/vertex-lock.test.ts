import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtemp, readdir, readFile, rm, utimes, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { selfIdentity } from "../../../src/fsutil/process-identity.ts";
import { type LockHolder, VertexLocks } from "../../../src/solver/vertex-lock.ts";

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), "polyarch-locks-"));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** A process that is gone: started, and waited for until it exited. Its pid is free (for now). */
async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ["-e", ""], { stdio: "ignore" });
  await new Promise((r) => child.once("exit", r));
  return child.pid!;
}

const longAgo = new Date(Date.now() - 365 * 24 * 3600 * 1000);

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

  it("write the owner whole: pid, start time and boot id", async () => {
    const l = await new VertexLocks(dir).acquire("whole");
    assert.equal((await readFile(join(dir, "whole.lock"), "utf8")).trim(), selfIdentity());
    assert.match(selfIdentity(), /^\d+:\d+:[0-9a-f]+$/);
    await l.release();
    assert.deepEqual(
      (await readdir(dir)).filter((n) => n.startsWith("whole")),
      [],
      "nothing left",
    );
  });

  it("take over a lock whose owner is dead", async () => {
    await writeFile(join(dir, "stale.lock"), `${await deadPid()}:1:${selfIdentity().split(":")[2]}\n`);
    const l = await new VertexLocks(dir).acquire("stale");
    assert.equal(l.waited, false);
    await l.release();
  });

  it("take over an empty lock (a kill between creating the file and writing the owner)", async () => {
    const path = join(dir, "empty.lock");
    await writeFile(path, "");
    await utimes(path, longAgo, longAgo);
    const l = await new VertexLocks(dir, { timeoutMs: 60_000 }).acquire("empty");
    assert.equal(l.waited, false);
    await l.release();
  });

  it("take over a lock whose pid now belongs to another process (pid reuse)", async () => {
    // This process is alive, but it is not the process that wrote the lock: its start time differs.
    const [pid, , boot] = selfIdentity().split(":");
    await writeFile(join(dir, "reused.lock"), `${pid}:1:${boot}\n`);
    // The old pid-only format: the lock is older than the process that has the pid now.
    const legacy = join(dir, "legacy.lock");
    await writeFile(legacy, `${process.pid}\n`);
    await utimes(legacy, longAgo, longAgo);
    const locks = new VertexLocks(dir, { timeoutMs: 60_000 });
    for (const name of ["reused", "legacy"]) {
      const l = await locks.acquire(name);
      assert.equal(l.waited, false, name);
      await l.release();
    }
  });

  it("say who holds a lock while waiting, and give up with a clear error after the bound", async () => {
    const held = await new VertexLocks(dir).acquire("busy");
    const heard: LockHolder[] = [];
    await assert.rejects(
      new VertexLocks(dir, { timeoutMs: 300, noticeMs: 50 }).acquire("busy", {
        label: "[linux/amd64 2/3] RUN make",
        onWait: (h) => heard.push(h),
      }),
      (e: Error & { hint?: string }) => {
        assert.equal(e.name, "UserError");
        assert.match(e.message, new RegExp(`polyarch process ${process.pid}`));
        assert.match(e.message, /RUN make/);
        assert.match(e.message, /busy\.lock/);
        assert.match(e.hint ?? "", /POLYARCH_LOCK_TIMEOUT/);
        return true;
      },
    );
    assert.deepEqual(heard, [{ pid: process.pid, path: join(dir, "busy.lock") }]);
    await held.release();
  });

  it("stop waiting when the build is aborted", async () => {
    const locks = new VertexLocks(dir);
    const held = await locks.acquire("busy2");
    const controller = new AbortController();
    const waiting = locks.acquire("busy2", controller.signal);
    controller.abort(new Error("stop"));
    await assert.rejects(waiting, /stop/);
    await held.release();
  });

  it("sweep removes stale locks and dead processes' temp files, and keeps live ones", async () => {
    const sweepDir = join(dir, "sweep");
    const locks = new VertexLocks(sweepDir);
    const live = await locks.acquire("live");
    const dead = await deadPid();
    await writeFile(join(sweepDir, "dead.lock"), `${dead}:1:ab\n`);
    await writeFile(join(sweepDir, `k.lock.tmp-${dead}-0123456789ab`), "");
    await writeFile(join(sweepDir, `k.lock.tmp-${process.pid}-0123456789ab`), "");
    assert.equal(await locks.sweep(), 2);
    assert.deepEqual(
      (await readdir(sweepDir)).sort(),
      ["live.lock", `k.lock.tmp-${process.pid}-0123456789ab`].sort(),
    );
    await live.release();
  });
});
