// Error messages never quote bytes of a file outside the build context or of a credentials file: a context
// whose Dockerfile links to a host file, and a damaged ~/.docker/config.json, give errors that say what is
// wrong and where, without the file's content.
import assert from "node:assert/strict";
import { mkdir, mkdtemp, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before } from "node:test";
import { startRegistry, type TestRegistry } from "../harness/registry.ts";
import { polyarch, tempStateRoot } from "../support/cli.ts";
import { attack } from "./support/attack.ts";

let work: string;
let state: Awaited<ReturnType<typeof tempStateRoot>>;
let reg: TestRegistry;

before(async () => {
  work = await mkdtemp(join(tmpdir(), "polyarch-attack-errors-"));
  state = await tempStateRoot();
  reg = await startRegistry({ auth: "basic" });
});
after(async () => {
  await reg?.stop();
  await state?.[Symbol.asyncDispose]();
  if (work) await rm(work, { recursive: true, force: true });
});

function assertCleanError(r: { code: number | null; stderr: string }): void {
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /^error: /m);
  assert.doesNotMatch(r.stderr, /looks like a bug|\n\s+at /);
}

attack(
  "a context whose Dockerfile links to a host file gets an error without that file's lines",
  async (c) => {
    const context = join(work, "linked");
    await mkdir(context);
    await symlink(c.etcFile, join(context, "Dockerfile"));
    const r = await polyarch(["build", "--progress=plain", "-o", "type=tar,dest=-", context], {
      env: { POLYARCH_ROOT: state.dir, DOCKER_CONFIG: state.dir },
    });
    assertCleanError(r);
    // The canary's first line is "canary: must never change"; no part of it may be shown.
    assert.doesNotMatch(r.stderr + r.stdout, /must never change|canary:/i);
    assert.match(r.stderr, /Dockerfile is a symbolic link to a file outside the build context/);
  },
);

attack(
  "a damaged config.json gives an error that quotes none of the credential around the fault",
  async () => {
    const config = join(work, "docker-config");
    await mkdir(config);
    const secret = "U0VDUkVUOnNlY3JldC1wYXNzd29yZA==";
    await writeFile(join(config, "config.json"), `{"auths": {"${reg.host}": {"auth": ${secret}}}}\n`);
    const context = join(work, "push");
    await mkdir(context);
    await writeFile(join(context, "Dockerfile"), "FROM scratch\n");
    const r = await polyarch(
      ["build", "--progress=plain", "-t", reg.ref("attack/errors:1"), "--push", context],
      {
        env: { POLYARCH_ROOT: state.dir, DOCKER_CONFIG: config, ...reg.env() },
      },
    );
    assertCleanError(r);
    assert.match(r.stderr, /config\.json is not valid: invalid JSON at line 1, column \d+/);
    for (let i = 0; i + 4 <= secret.length; i++) {
      assert.ok(
        !r.stderr.includes(secret.slice(i, i + 4)),
        `stderr quotes ${secret.slice(i, i + 4)} of the credential`,
      );
    }
  },
);
