// `# syntax=` through the CLI: the official docker/dockerfile names build with the built-in frontend (labs
// features with a labs tag), and any other frontend image is a clear error before anything runs.
import assert from "node:assert/strict";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { polyarch, tempStateRoot } from "../../support/cli.ts";

let state: Awaited<ReturnType<typeof tempStateRoot>>;
let work: string;
let seq = 0;
before(async () => {
  state = await tempStateRoot();
  work = await mkdtemp(join(tmpdir(), "polyarch-syntax-"));
});
after(async () => {
  await state?.[Symbol.asyncDispose]();
  if (work) await rm(work, { recursive: true, force: true });
});

async function build(dockerfile: string, extra: string[] = []) {
  const dir = join(work, `case-${++seq}`);
  await mkdir(join(dir, "src/a"), { recursive: true });
  await writeFile(join(dir, "Dockerfile"), dockerfile);
  await writeFile(join(dir, "src/a/f"), "f\n");
  const out = join(dir, "out");
  const r = await polyarch(["build", "--progress=plain", ...extra, "-o", `type=local,dest=${out}`, dir], {
    env: { POLYARCH_ROOT: state.dir },
  });
  return { ...r, out };
}

test("# syntax=docker/dockerfile:1-labs (with a digest, via docker.io) builds with the built-in frontend", async () => {
  const r = await build(
    `# syntax=docker.io/docker/dockerfile:1.7-labs@sha256:${"0".repeat(64)}\nFROM scratch\nCOPY --parents src/a/f /dst/\n`,
  );
  assert.equal(r.code, 0, r.stderr);
  assert.equal(await readFile(join(r.out, "dst/src/a/f"), "utf8"), "f\n");
});

test("# syntax= naming another frontend image is a clear error", async () => {
  const r = await build("# syntax=example.com/acme/frontend:2\nFROM scratch\nCOPY src /\n");
  assert.equal(r.code, 1);
  assert.match(
    r.stderr,
    /Dockerfile:1:10: polyarch does not run external frontends: # syntax=example\.com\/acme\/frontend:2/,
  );
  assert.match(r.stderr, /hint: .*docker\/dockerfile:1/);
  assert.doesNotMatch(r.stderr, /looks like a bug|\n\s+at /);
});

test("--build-arg BUILDKIT_SYNTAX names the frontend in place of the file's # syntax= line", async () => {
  // The file's line names a frontend polyarch does not run; the build arg wins, as in BuildKit.
  const r = await build("# syntax=example.com/acme/frontend:2\nFROM scratch\nCOPY src /\n", [
    "--build-arg",
    "BUILDKIT_SYNTAX=docker/dockerfile:1",
  ]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(await readFile(join(r.out, "a/f"), "utf8"), "f\n");
});

test("BUILDKIT_SYNTAX with a labs tag turns on labs-only flags (RUN --device)", async () => {
  const dockerfile = "FROM scratch\nRUN --device=/dev/null true\n";
  const plain = await build(dockerfile, ["--call", "outline"]);
  assert.equal(plain.code, 1);
  assert.match(plain.stderr, /--device/);
  const labs = await build(dockerfile, [
    "--call",
    "outline",
    "--build-arg",
    "BUILDKIT_SYNTAX=docker/dockerfile:1-labs",
  ]);
  assert.equal(labs.code, 0, labs.stderr);
});

test("BUILDKIT_SYNTAX naming another frontend image is a clear error, even without a # syntax= line", async () => {
  const r = await build("FROM scratch\nCOPY src /\n", [
    "--build-arg",
    "BUILDKIT_SYNTAX=example.com/acme/frontend:2",
  ]);
  assert.equal(r.code, 1);
  assert.match(
    r.stderr,
    /polyarch does not run external frontends: --build-arg BUILDKIT_SYNTAX=example\.com\/acme\/frontend:2/,
  );
  assert.match(r.stderr, /hint: .*docker\/dockerfile:1/);
  assert.doesNotMatch(r.stderr, /looks like a bug|\n\s+at /);
});
