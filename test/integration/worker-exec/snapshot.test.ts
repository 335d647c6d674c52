import assert from "node:assert/strict";
import { lstat, readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { hostPlatform } from "../../../src/oci/platform.ts";
import { isMounted } from "../../../src/worker/snapshot/mount.ts";
import { opaqueDirectories } from "../../../src/worker/snapshot/opaque-dirs.ts";
import { ExecFixture } from "./fixture.ts";

const native = hostPlatform();

async function isWhiteout(path: string): Promise<boolean> {
  const st = await lstat(path);
  return st.isCharacterDevice() && st.rdev === 0;
}

async function exists(path: string): Promise<boolean> {
  try {
    await lstat(path);
    return true;
  } catch {
    return false;
  }
}

for (const mode of ["overlay", "copy"] as const) {
  describe(`${mode} snapshotter`, () => {
    let fx: ExecFixture;
    before(async () => {
      fx = await ExecFixture.create(mode);
      assert.equal(fx.snapshotter.kind, mode);
    });
    after(async () => {
      await fx?.dispose();
    });

    async function step(script: string, parents: string[] = []): Promise<string> {
      const snap = await fx.snapshot(native, parents);
      try {
        await fx.executor.run(snap.rootfs, { args: ["/bin/sh", "-c", script], env: [], platform: native });
      } finally {
        await snap.release();
      }
      return fx.snapshotter.commit(snap.key);
    }

    test("a RUN's changes become a layer dir: new files, and a whiteout for an rm", async () => {
      const layer = await step(
        "rm /bin/true && mkdir -p /app && echo hello > /app/greeting && echo changed >> /etc/passwd",
      );
      assert.ok(await isWhiteout(join(layer, "bin/true")), "bin/true is a whiteout");
      assert.equal(await readFile(join(layer, "app/greeting"), "utf8"), "hello\n");
      assert.match(await readFile(join(layer, "etc/passwd"), "utf8"), /changed\n$/);
      // Untouched files of the base stay in the base.
      assert.equal(await exists(join(layer, "bin/busybox")), false);
      assert.equal(await exists(join(layer, "bin/sh")), false);
      // Mount points runc made for /etc/hosts and /etc/resolv.conf are not part of the change.
      assert.deepEqual((await readdir(join(layer, "etc"))).sort(), ["passwd"]);
    });

    test("layers stack: the next step sees the previous one's changes and deletions", async () => {
      const first = await step("rm /bin/true; echo one > /one; mkdir -p /d/sub && echo x > /d/sub/x");
      const second = await step(
        "test ! -e /bin/true && cat /one && rm -rf /d && mkdir /d && echo y > /d/y && ls -R /d",
        [first],
      );
      const snap = await fx.snapshot(native, [first, second]);
      try {
        let out = "";
        await fx.executor.run(
          snap.rootfs,
          {
            args: ["/bin/sh", "-c", "ls /d; test -e /bin/true || echo no-true; cat /one"],
            env: [],
            platform: native,
          },
          { onOutput: (_s, c) => (out += c) },
        );
        assert.equal(out, "y\nno-true\none\n");
      } finally {
        await snap.release();
        await fx.snapshotter.remove(snap.key);
      }
    });

    test("release unmounts, remove deletes everything of the snapshot", async () => {
      const snap = await fx.snapshot(native);
      if (mode === "overlay") assert.equal(await isMounted(snap.rootfs), true);
      await snap.release();
      await snap.release();
      assert.equal(await isMounted(snap.rootfs), false);
      await fx.snapshotter.remove(snap.key);
      assert.equal(await exists(snap.rootfs), false);
    });
  });
}

test("an opaque directory made by overlay hides the lower contents when the copy snapshotter applies it", async () => {
  const overlayFx = await ExecFixture.create("overlay");
  const copyFx = await ExecFixture.create("copy");
  try {
    const base = await overlayFx.base(native);
    const run = async (f: ExecFixture, parents: string[], script: string) => {
      const snap = await f.snapshotter.prepare(`k${parents.length}`, [base, ...parents]);
      let out = "";
      try {
        await f.executor.run(
          snap.rootfs,
          { args: ["/bin/sh", "-c", script], env: [], platform: native },
          { onOutput: (_s, c) => (out += c) },
        );
      } finally {
        await snap.release();
      }
      return { out, layer: await f.snapshotter.commit(snap.key) };
    };
    const first = await run(overlayFx, [], "mkdir -p /d && echo x > /d/x");
    const second = await run(overlayFx, [first.layer], "rm -rf /d && mkdir /d && echo y > /d/y");
    assert.deepEqual(await opaqueDirectories(second.layer, ["d"]), new Set(["d"]));
    const seen = await run(copyFx, [first.layer, second.layer], "ls /d");
    assert.equal(seen.out, "y\n");
  } finally {
    await overlayFx.dispose();
    await copyFx.dispose();
  }
});

test("without the exec mount points, runc's stubs are removed and /etc keeps its time to the nanosecond", async () => {
  const fx = await ExecFixture.create("overlay");
  try {
    const base = await fx.base(native);
    const snap = await fx.snapshotter.prepare("plain", [base]);
    try {
      await fx.executor.run(snap.rootfs, { args: ["true"], env: [], platform: native });
    } finally {
      await snap.release();
    }
    const layer = await fx.snapshotter.commit("plain");
    assert.equal(await exists(join(layer, "etc/hosts")), false);
    assert.equal(await exists(join(layer, "etc/resolv.conf")), false);
    if (await exists(join(layer, "etc"))) {
      const [up, low] = await Promise.all([
        lstat(join(layer, "etc"), { bigint: true }),
        lstat(join(base, "etc"), { bigint: true }),
      ]);
      assert.equal(up.mtimeNs, low.mtimeNs);
    }
  } finally {
    await fx.dispose();
  }
});

test("with the exec mount points, a step that changes nothing leaves an empty upper dir", async () => {
  const fx = await ExecFixture.create("overlay");
  try {
    const snap = await fx.snapshot(native);
    let out = "";
    try {
      await fx.executor.run(
        snap.rootfs,
        {
          args: ["/bin/sh", "-c", "ls -d /proc /dev /sys; cat /etc/passwd | head -1"],
          env: [],
          platform: native,
        },
        { onOutput: (_s, c) => (out += c) },
      );
    } finally {
      await snap.release();
    }
    assert.equal(out, "/dev\n/proc\n/sys\nroot:x:0:0:root:/root:/bin/sh\n");
    const layer = await fx.snapshotter.commit(snap.key);
    assert.deepEqual(await readdir(layer), []);
  } finally {
    await fx.dispose();
  }
});
