import assert from "node:assert/strict";
import { mkdir, mkdtemp, realpath, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { resolveBuildInputs } from "../../../../src/dockerfile/context/build-inputs.ts";
import { isUserError } from "../../../../src/errors/user-error.ts";

describe("CONTEXT and -f", () => {
  let root: string;
  before(async () => {
    root = await realpath(await mkdtemp(join(tmpdir(), "polyarch-inputs-")));
    await mkdir(join(root, "app/build"), { recursive: true });
    await mkdir(join(root, "lower"), { recursive: true });
    await writeFile(join(root, "app/Dockerfile"), "FROM scratch\n");
    await writeFile(join(root, "app/.dockerignore"), "*.log\n");
    await writeFile(join(root, "app/build/prod.Dockerfile"), "FROM busybox\n");
    await writeFile(join(root, "app/build/prod.Dockerfile.dockerignore"), "secret\n");
    await writeFile(join(root, "lower/dockerfile"), "FROM scratch AS lower\n");
    await writeFile(join(root, "empty.Dockerfile"), "  \n");
  });
  after(() => rm(root, { recursive: true, force: true }));

  test("the default Dockerfile is CONTEXT/Dockerfile, named relative to the working directory", async () => {
    const inputs = await resolveBuildInputs({ context: "app", cwd: root });
    assert.equal(inputs.contextDir, join(root, "app"));
    assert.equal(inputs.dockerfile.path, join(root, "app/Dockerfile"));
    assert.equal(inputs.dockerfile.displayName, "app/Dockerfile");
    assert.equal(inputs.dockerfile.text, "FROM scratch\n");
    assert.equal(inputs.ignore.ignores("x.log"), true);
  });

  test("-f is relative to the working directory, and its own .dockerignore wins", async () => {
    const inputs = await resolveBuildInputs({ context: "app", file: "app/build/prod.Dockerfile", cwd: root });
    assert.equal(inputs.dockerfile.text, "FROM busybox\n");
    assert.equal(inputs.ignore.ignores("secret"), true);
    assert.equal(inputs.ignore.ignores("x.log"), false);
  });

  test("a lowercase `dockerfile` is found when `Dockerfile` is absent", async () => {
    const inputs = await resolveBuildInputs({ context: "lower", cwd: root });
    assert.equal(inputs.dockerfile.text, "FROM scratch AS lower\n");
  });

  test("-f - reads the Dockerfile from stdin and keeps the context's ignore rules", async () => {
    const inputs = await resolveBuildInputs({
      context: "app",
      file: "-",
      cwd: root,
      readStdin: async () => "FROM alpine\n",
    });
    assert.equal(inputs.dockerfile.path, undefined);
    assert.equal(inputs.dockerfile.displayName, "<stdin>");
    assert.equal(inputs.dockerfile.text, "FROM alpine\n");
    assert.equal(inputs.contextDir, join(root, "app"));
    assert.equal(inputs.ignore.ignores("a.log"), true);
  });

  test("CONTEXT - reads the Dockerfile from stdin with no context files", async () => {
    const inputs = await resolveBuildInputs({ context: "-", cwd: root, readStdin: async () => "FROM a\n" });
    assert.equal(inputs.contextDir, undefined);
    assert.equal(inputs.dockerfile.text, "FROM a\n");
  });

  async function failure(p: Promise<unknown>): Promise<{ message: string; hint: string | undefined }> {
    try {
      await p;
    } catch (e) {
      assert.ok(isUserError(e), `expected a UserError, got ${e}`);
      return { message: e.message, hint: e.hint };
    }
    assert.fail("expected an error");
  }

  test("mistakes are one-line user errors with a hint", async () => {
    const missing = await failure(resolveBuildInputs({ context: "app", file: "nope/Dockerfile", cwd: root }));
    assert.match(missing.message, /cannot find Dockerfile nope\/Dockerfile/);
    assert.match(missing.hint ?? "", /relative to the current directory/);
    assert.match(
      (await failure(resolveBuildInputs({ context: "nowhere", cwd: root }))).message,
      /does not exist/,
    );
    assert.match(
      (await failure(resolveBuildInputs({ context: "app/Dockerfile", cwd: root }))).message,
      /is not a directory/,
    );
    assert.match(
      (await failure(resolveBuildInputs({ context: ".", file: "empty.Dockerfile", cwd: root }))).message,
      /is empty/,
    );
    assert.match(
      (await failure(resolveBuildInputs({ context: "https://github.com/a/b.git", cwd: root }))).message,
      /remote build contexts are not supported yet/,
    );
    assert.match(
      (await failure(resolveBuildInputs({ context: ".", file: "app", cwd: root }))).message,
      /is a directory/,
    );
  });
});
