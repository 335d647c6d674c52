import assert from "node:assert/strict";
import { test } from "node:test";
import { parseRunArgs } from "../../../src/cli/commands/run-args.ts";

test("run args: options before NAME, everything after it is the command, verbatim", () => {
  assert.deepEqual(parseRunArgs(["--rm", "--platform", "linux/arm64", "app", "uname", "-m"]), {
    platform: "linux/arm64",
    name: "app",
    command: ["uname", "-m"],
  });
  assert.deepEqual(parseRunArgs(["--platform=linux/amd64", "--entrypoint", "ls", "app", "--help", "-h"]), {
    platform: "linux/amd64",
    entrypoint: "ls",
    name: "app",
    command: ["--help", "-h"],
  });
  assert.deepEqual(parseRunArgs(["--", "-odd-name"]), { name: "-odd-name", command: [] });
  assert.equal(parseRunArgs(["-h"]).help, true);
});

test("run args: an unknown option, a missing value or no NAME is a clear error", () => {
  assert.throws(() => parseRunArgs(["-it", "app"]), /unknown option -it/);
  assert.throws(() => parseRunArgs(["--platform"]), /--platform needs a value/);
  assert.throws(() => parseRunArgs(["--rm"]), /no image named/);
});
