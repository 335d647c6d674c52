import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { open, writeFile } from "node:fs/promises";
import { test } from "node:test";
import { promisify } from "node:util";
import { formatError } from "../../../src/cli/report-error.ts";
import {
  asEnvironmentError,
  attachDirectory,
  EnvironmentError,
} from "../../../src/errors/environment-error.ts";
import { UserError } from "../../../src/errors/user-error.ts";

/** A real ENOSPC from the kernel: /dev/full answers every write with it, and Node's error has no path. */
async function realEnospc(): Promise<NodeJS.ErrnoException> {
  const handle = await open("/dev/full", "w");
  try {
    await handle.write(Buffer.from("x"));
  } catch (e) {
    return e as NodeJS.ErrnoException;
  } finally {
    await handle.close();
  }
  throw new Error("/dev/full accepted a write");
}

test("a path-less ENOSPC, however wrapped, names the state directory and says what to do", async () => {
  const raw = await realEnospc();
  assert.equal(raw.code, "ENOSPC");
  const wrapped = new Error(`Dockerfile:3: copying /big to /big: ${raw.message}`, { cause: raw });
  const text = formatError(wrapped, false, { POLYARCH_ROOT: "/srv/polyarch" });
  assert.equal(
    text,
    [
      "error: Dockerfile:3: copying /big to /big: no space left on device in /srv/polyarch (polyarch's state directory)",
      "hint: free space on the filesystem holding /srv/polyarch, or set POLYARCH_ROOT to a directory on a bigger one, then run again",
    ].join("\n"),
  );
});

test("an ENOSPC with a path outside the state directory names that directory, with no POLYARCH_ROOT advice", async () => {
  const raw = Object.assign(await realEnospc(), { path: "/mnt/out/image.tar" });
  const e = asEnvironmentError(raw, { stateDir: "/srv/polyarch" });
  assert.ok(e instanceof EnvironmentError);
  assert.equal(e.message, "no space left on device in /mnt/out");
  assert.doesNotMatch(e.hint ?? "", /POLYARCH_ROOT/);
});

test("attachDirectory names the writer's directory for a full disk and leaves other errors alone", async () => {
  const raw = await realEnospc();
  const e = attachDirectory(raw, "/srv/polyarch/content/ingest");
  assert.ok(e instanceof UserError);
  assert.equal((e as UserError).message, "no space left on device in /srv/polyarch/content/ingest");
  const other = new Error("something else");
  assert.equal(attachDirectory(other, "/x"), other);
});

test("a missing program is a user error that says which package to install", async () => {
  const err = await promisify(execFile)("runc-not-installed-here", ["--version"]).catch((e: unknown) => e);
  const e = asEnvironmentError(new Error("running the step failed", { cause: err }));
  assert.ok(e instanceof EnvironmentError);
  assert.match(e.message, /runc-not-installed-here is not installed \(or not on PATH\)/);
  const qemu = asEnvironmentError(
    await promisify(execFile)("qemu-riscv64-static-missing", []).catch((x: unknown) => x),
  );
  assert.equal(qemu?.hint, "install it: apt-get install qemu-user-static");
});

test("a denied write names the path; user errors and bugs are left as they are", async () => {
  // root ignores file modes; a read-only sysctl denies even root.
  const denied = await writeFile("/proc/sys/kernel/ostype", "x").catch((e: unknown) => e);
  const e = asEnvironmentError(new Error("writing the config failed", { cause: denied }));
  assert.ok(e instanceof EnvironmentError, String(denied));
  assert.equal(e.message, "writing the config failed: permission denied: /proc/sys/kernel/ostype");
  assert.match(e.hint ?? "", /polyarch needs root, or write access to \/proc\/sys\/kernel\/ostype/);
  assert.equal(asEnvironmentError(new UserError("mine")), undefined);
  assert.equal(asEnvironmentError(new TypeError("x is undefined")), undefined);
  assert.match(formatError(new TypeError("x is undefined"), false), /looks like a bug/);
});
