/**
 * Differential: the modes of instructions (COPY --chmod on the directories it makes, flags on ARG and
 * STOPSIGNAL, the escape character in flags, ONBUILD triggers, RUN --network, the syntax directive), built by
 * BuildKit and by polyarch; what a user observes must be the same.
 */
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import type { TreeEntry } from "../harness/buildkit.ts";
import { assertSameError, assertSameTree, Differential } from "./support.ts";

let d: Differential;
before(async () => {
  d = await Differential.start();
});
after(() => d?.[Symbol.asyncDispose]());

test("COPY --chmod: the directories it creates get an octal mode; existing ones and symbolic modes do not", async () => {
  const dockerfile = [
    `FROM ${d.base}`,
    "RUN mkdir -p /ex/d && chmod 750 /ex/d",
    "COPY --chmod=777 foo /parent/foo",
    "COPY --chmod=711 dir /ex/d",
    "COPY --chmod=701 dir /ex/new",
    "COPY --chmod=705 foo dir /multi/m/",
    "COPY --link --chmod=700 foo /l1/l2/foo",
    "COPY --chmod=0750 foo /tmp/",
    "COPY --chmod=u+x foo /sym/s/foo",
    "",
  ].join("\n");
  const seen = await d.both({ Dockerfile: dockerfile, foo: "x\n", "dir/sub/f": "y\n" }, { output: "local" });
  // Only what the COPYs made: BuildKit's local export does not keep the base image's owners (/home/app).
  const made = (tree: TreeEntry[] | undefined) =>
    tree?.filter((e) => /^(ex|parent|multi|l1|tmp|sym)(\/|$)/.test(e.path));
  assert.ok(seen.buildkit.ok && seen.polyarch.ok, seen.buildkit.output + seen.polyarch.output);
  assert.deepEqual(made(seen.polyarch.tree), made(seen.buildkit.tree));
  const mode = (path: string) => seen.polyarch.tree?.find((e) => e.path === path)?.mode;
  assert.equal(mode("parent"), "777");
  assert.equal(mode("l1/l2"), "700");
  assert.equal(mode("ex/d"), "750");
  assert.equal(mode("sym/s"), "755");
});

test("parser: flag values honour the file's escape character", async () => {
  const tick = await d.both(
    { Dockerfile: "# escape=`\nFROM scratch\nCOPY --chmod=7`55 a /a\n", a: "a\n" },
    { output: "local" },
  );
  assertSameTree(tick);
  assert.equal(tick.polyarch.tree?.[0]?.mode, "755");
  const backslash = await d.both(
    { Dockerfile: "# escape=`\nFROM scratch\nCOPY --chmod=7\\55 a /a\n", a: "a\n" },
    { output: "local" },
  );
  assertSameError(backslash, "invalid chmod parameter: '7\\55'");
});

test("parser: ARG and STOPSIGNAL ignore flags, as BuildKit reads them", async () => {
  const seen = await d.both(
    { Dockerfile: "FROM scratch\nARG --foo=1 x\nLABEL v=$x\nSTOPSIGNAL --foo=1 SIGINT\n" },
    { output: "oci", buildArgs: { x: "5" } },
  );
  assert.ok(seen.buildkit.ok && seen.polyarch.ok, seen.buildkit.output + seen.polyarch.output);
  const pick = (c: Record<string, unknown> | undefined) => {
    const config = (c?.config ?? {}) as Record<string, unknown>;
    return { Labels: config.Labels, StopSignal: config.StopSignal };
  };
  assert.deepEqual(pick(seen.polyarch.config), pick(seen.buildkit.config));
  assert.deepEqual(pick(seen.polyarch.config), { Labels: { v: "5" }, StopSignal: "SIGINT" });
  const empty = await d.both({ Dockerfile: "FROM scratch\nARG --foo=1\n" }, { output: "local" });
  assertSameError(empty, "ARG requires at least one argument");
});

test("parser: a line longer than 65535 bytes fails as BuildKit fails it", async () => {
  const seen = await d.both(
    { Dockerfile: `FROM scratch\nLABEL a="${"x".repeat(70_000)}"\n` },
    { output: "local" },
  );
  assertSameError(seen, "dockerfile line greater than max allowed size of 65535");
});

test("parser: an ONBUILD trigger is parsed only when a build runs it", async () => {
  const unused = await d.both(
    { Dockerfile: "FROM scratch\nONBUILD FOO bar\nONBUILD RUN --mont=x true\nCOPY a /a\n", a: "a\n" },
    { output: "local" },
  );
  assertSameTree(unused);
  const used = await d.both(
    { Dockerfile: "FROM scratch AS base\nONBUILD RUN --mont=x true\nFROM base\nCOPY a /a\n", a: "a\n" },
    { output: "local" },
  );
  assertSameError(used, "unknown flag: --mont (did you mean mount?)");
});

// What a step sees of its network: the interfaces of its namespace, /etc/hosts, the limits, /dev/shm.
const probe = (flags: string, out: string) =>
  `RUN ${flags} cut -d: -f1 /proc/net/dev | tail -n +3 | tr -d ' ' | sort > /${out}-net; cat /etc/hosts > /${out}-hosts; ulimit -n > /${out}-nofile; ulimit -Hn >> /${out}-nofile; ulimit -u > /${out}-nproc; df -k /dev/shm | tail -1 | awk '{print $2}' > /${out}-shm`;

test("RUN --network: default and none give what BuildKit gives (default is the host's network here)", async () => {
  const seen = await d.both(
    {
      Dockerfile: [
        `FROM ${d.base}`,
        probe("", "plain"),
        probe("--network=default", "default"),
        probe("--network=none", "none"),
        "",
      ].join("\n"),
    },
    { output: "local" },
  );
  const mine = (tree: TreeEntry[] | undefined) => tree?.filter((e) => /^(plain|default|none)-/.test(e.path));
  assert.ok(seen.buildkit.ok && seen.polyarch.ok, seen.buildkit.output + seen.polyarch.output);
  assert.deepEqual(mine(seen.polyarch.tree), mine(seen.buildkit.tree));
  assert.equal(seen.polyarch.tree?.find((e) => e.path === "none-net")?.content, "lo\n");
});

test("RUN --network=host without the network.host entitlement fails as in BuildKit", async () => {
  const seen = await d.both({ Dockerfile: `FROM ${d.base}\nRUN --network=host true\n` }, { output: "local" });
  assertSameError(seen, "network.host is not allowed");
});

test("--add-host, --ulimit and --shm-size reach every RUN step as BuildKit's options do", async () => {
  const seen = await d.both(
    { Dockerfile: [`FROM ${d.base}`, probe("", "plain"), probe("--network=none", "none"), ""].join("\n") },
    {
      output: "local",
      buildkitArgs: [
        "--opt",
        "add-hosts=myhost=10.1.2.3,v6host=2001:db8::1",
        "--opt",
        "ulimit=nofile=1024:2048,nproc=500:600",
        "--opt",
        "shm-size=134217728",
      ],
      polyarchArgs: [
        "--add-host",
        "myhost:10.1.2.3",
        "--add-host",
        "v6host=[2001:db8::1]",
        "--ulimit",
        "nofile=1024:2048",
        "--ulimit",
        "nproc=500:600",
        "--shm-size",
        "128m",
      ],
    },
  );
  const mine = (tree: TreeEntry[] | undefined) =>
    tree?.filter((e) => /^(plain|none)-(hosts|nofile|nproc|shm)$/.test(e.path));
  assert.ok(seen.buildkit.ok && seen.polyarch.ok, seen.buildkit.output + seen.polyarch.output);
  assert.deepEqual(mine(seen.polyarch.tree), mine(seen.buildkit.tree));
  const file = (p: string) => seen.polyarch.tree?.find((e) => e.path === p)?.content;
  assert.match(file("plain-hosts") ?? "", /^10\.1\.2\.3\tmyhost$/m);
  assert.equal(file("plain-nofile"), "1024\n2048\n");
  assert.equal(file("plain-shm"), "131072\n");
});

test("RUN --device outside the labs syntax is refused with BuildKit's words", async () => {
  const seen = await d.both(
    { Dockerfile: `FROM ${d.base}\nRUN --device=/dev/null true\n` },
    { output: "local" },
  );
  assertSameError(seen, "device feature is only supported in Dockerfile frontend 1.14.0-labs or later");
});
