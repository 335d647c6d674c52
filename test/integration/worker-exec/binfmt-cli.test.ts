import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { test } from "node:test";
import { formatPlatform, hostPlatform } from "../../../src/oci/platform.ts";
import { polyarch } from "../../support/cli.ts";

// `polyarch binfmt` as a user runs it (root, as CI is): install, list, json, uninstall, bad input.

test("binfmt --install registers with the F flag, and the listing shows the emulator", async () => {
  const foreign = hostPlatform().architecture === "arm64" ? "amd64" : "arm64";
  const handler = foreign === "arm64" ? "qemu-aarch64" : "qemu-x86_64";
  const r = await polyarch(["binfmt", "--install", foreign]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, new RegExp(`installing: ${foreign} \\(linux/${foreign}\\) (OK|already registered)`));
  assert.match(r.stdout, new RegExp(`^linux/${foreign} +/\\S+ \\(${handler}\\)$`, "m"));
  assert.match(await readFile(`/proc/sys/fs/binfmt_misc/${handler}`, "utf8"), /^flags: \w*F/m);

  const json = await polyarch(["binfmt", "--format", "json"]);
  const parsed = JSON.parse(json.stdout) as { supported: string[]; emulators: string[] };
  assert.equal(parsed.supported[0], formatPlatform(hostPlatform()));
  assert.ok(parsed.supported.includes(`linux/${foreign}`));
  assert.ok(parsed.emulators.includes(handler));
});

test("a handler can be installed and removed", async (t) => {
  const wasThere = existsSync("/proc/sys/fs/binfmt_misc/qemu-riscv64");
  // Leave the machine as it was: scripts/setup registers every emulator.
  t.after(async () => {
    if (wasThere) await polyarch(["binfmt", "--install", "riscv64"]);
  });
  const before = await polyarch(["binfmt", "--install", "riscv64"]);
  assert.equal(before.code, 0, before.stderr);
  assert.match(before.stdout, /^linux\/riscv64 /m);
  const removed = await polyarch(["binfmt", "--uninstall", "riscv64"]);
  assert.equal(removed.code, 0, removed.stderr);
  assert.match(removed.stderr, /uninstalling: qemu-riscv64 OK/);
  assert.doesNotMatch(removed.stdout, /riscv64/);
});

test("unknown emulator names are a one-line error with the names that exist", async () => {
  const r = await polyarch(["binfmt", "--install", "arm64,vax"]);
  assert.equal(r.code, 1);
  assert.match(
    r.stderr,
    /^error: unknown emulator "vax"\nhint: use all, or a comma-separated list of: .*riscv64/,
  );
});
