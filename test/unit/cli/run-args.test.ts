import assert from "node:assert/strict";
import { test } from "node:test";
import { parseRunArgs } from "../../../src/cli/commands/run-args.ts";

test("run args: options before NAME, everything after it is the command, verbatim", () => {
  assert.deepEqual(parseRunArgs(["--rm", "--platform", "linux/arm64", "app", "uname", "-m"]), {
    env: [],
    volumes: [],
    platform: "linux/arm64",
    name: "app",
    command: ["uname", "-m"],
  });
  assert.deepEqual(parseRunArgs(["--platform=linux/amd64", "--entrypoint", "ls", "app", "--help", "-h"]), {
    env: [],
    volumes: [],
    platform: "linux/amd64",
    entrypoint: "ls",
    name: "app",
    command: ["--help", "-h"],
  });
  assert.deepEqual(parseRunArgs(["--", "-odd-name"]), {
    env: [],
    volumes: [],
    name: "-odd-name",
    command: [],
  });
  assert.equal(parseRunArgs(["-h"]).help, true);
});

test("run args: an unknown option, a missing value or no NAME is a clear error", () => {
  assert.throws(() => parseRunArgs(["-ix", "app"]), /unknown option -ix/);
  assert.throws(() => parseRunArgs(["-e"]), /-e needs a value/);
  assert.throws(() => parseRunArgs(["--platform"]), /--platform needs a value/);
  assert.throws(() => parseRunArgs(["--rm"]), /no image named/);
});

test("run args: docker run's -i, -t, -e, -v, long and short, clustered as docker clusters them", () => {
  assert.deepEqual(
    parseRunArgs([
      "-it",
      "-e",
      "A=1",
      "-eB=2",
      "--env=C",
      "-v",
      "/h:/c",
      "--volume",
      "/x:/y:ro",
      "app",
      "sh",
    ]),
    {
      env: ["A=1", "B=2", "C"],
      volumes: ["/h:/c", "/x:/y:ro"],
      interactive: true,
      tty: true,
      name: "app",
      command: ["sh"],
    },
  );
  assert.deepEqual(parseRunArgs(["--interactive", "-tv", "/h:/c", "app"]), {
    env: [],
    volumes: ["/h:/c"],
    interactive: true,
    tty: true,
    name: "app",
    command: [],
  });
});
