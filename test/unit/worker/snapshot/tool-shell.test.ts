import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { asEnvironmentError } from "../../../../src/errors/environment-error.ts";
import { runTool } from "../../../../src/worker/snapshot/tool-shell.ts";

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), "polyarch-tool-shell-"));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

test("arguments reach the tool exactly: quotes, $(…), backslashes, newlines and spaces are not interpreted", async () => {
  const names = ["it's", "$(touch pwned)", "back\\slash\\n", "two\nlines", "  spaced  ", "`tick`;*"];
  await Promise.all(names.map((n) => runTool("mkdir", [join(dir, n)])));
  for (const n of names) assert.ok(existsSync(join(dir, n)), JSON.stringify(n));
  assert.equal(existsSync(join(dir, "pwned")), false);
  assert.equal(existsSync("pwned"), false);
});

test("a tool runs in the directory asked for", async () => {
  await runTool("mkdir", ["relative-here"], dir);
  assert.ok(existsSync(join(dir, "relative-here")));
});

test("a failing tool rejects with its stderr; later tools still run", async () => {
  await assert.rejects(runTool("ls", [join(dir, "missing")]), (e: Error & { stderr?: string }) => {
    assert.match(e.message, /^ls .*missing: .*No such file/);
    assert.match(e.stderr ?? "", /No such file/);
    return true;
  });
  await runTool("mkdir", [join(dir, "after-failure")]);
  assert.ok(existsSync(join(dir, "after-failure")));
});

test("a missing program fails as a failed spawn does, so the CLI names the missing program", async () => {
  const err = await runTool("polyarch-no-such-tool", []).catch((e: unknown) => e);
  assert.equal((err as { code?: string }).code, "ENOENT");
  const env = asEnvironmentError(err);
  assert.ok(env, "an environment error");
  assert.match(env.message, /polyarch-no-such-tool/);
});
