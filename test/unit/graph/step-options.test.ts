import assert from "node:assert/strict";
import { test } from "node:test";
import { validateVertex } from "../../../src/graph/validate.ts";

// A graph may come from a library caller or a remote client: the step options the executor writes into
// the step (extraHosts go verbatim into /etc/hosts) are checked where every graph is, not only by the CLI.
const exec = (extra: Record<string, unknown>) => ({
  inputs: ["sha256:".padEnd(71, "0")],
  op: {
    kind: "exec",
    args: ["true"],
    env: [],
    cwd: "/",
    user: "",
    mounts: [],
    network: "default",
    security: "sandbox",
    platform: { os: "linux", architecture: "amd64" },
    ...extra,
  },
});

test("an exec op's --add-host, --ulimit and --shm-size values are checked in the graph", () => {
  validateVertex(
    exec({
      extraHosts: [{ host: "db", ip: "10.0.0.5" }],
      ulimits: [{ name: "nofile", soft: 1024, hard: 4096 }],
      shmSizeBytes: 1 << 26,
    }),
    "vertex",
  );
  const bad: [Record<string, unknown>, RegExp][] = [
    [{ extraHosts: [{ host: "a\n10.0.0.1 registry", ip: "10.0.0.2" }] }, /extraHosts\[0\]\.host/],
    [{ extraHosts: [{ host: "db", ip: "10.0.0.5\n1.2.3.4 evil" }] }, /extraHosts\[0\]\.ip/],
    [{ ulimits: [{ name: "bogus", soft: 1, hard: 1 }] }, /ulimits\[0\]\.name/],
    [{ ulimits: [{ name: "nofile", soft: 10, hard: 1 }] }, /ulimits\[0\]: soft/],
    [{ shmSizeBytes: 0 }, /shmSizeBytes/],
  ];
  for (const [extra, message] of bad) assert.throws(() => validateVertex(exec(extra), "vertex"), message);
});
