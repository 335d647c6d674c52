/**
 * Differential: RUN --mount defaults and the identity a RUN step runs as, built by BuildKit and by polyarch;
 * what the steps wrote (files, their content and owners) must be the same.
 */
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import type { TreeEntry } from "../harness/buildkit.ts";
import { assertSameError, Differential } from "./support.ts";

let d: Differential;
before(async () => {
  d = await Differential.start();
});
after(() => d?.[Symbol.asyncDispose]());

/** The entries under /out of an exported tree: only what the steps wrote. */
const written = (tree: TreeEntry[] | undefined) => tree?.filter((e) => e.path.startsWith("out"));

test("bind mount without target: mounted at the working directory (context and from=stage)", async () => {
  const seen = await d.both(
    {
      Dockerfile: [
        `FROM ${d.base} AS src`,
        "RUN mkdir -p /data && echo from-stage > /data/s.txt",
        `FROM ${d.base}`,
        "WORKDIR /work/dir",
        "RUN --mount=type=bind mkdir /out && cat f.txt > /out/ctx && ls > /out/ls",
        "RUN --mount=from=src,source=/data cat s.txt > /out/stage && pwd > /out/pwd",
        "",
      ].join("\n"),
      "f.txt": "from-context\n",
    },
    { output: "local" },
  );
  assert.ok(seen.buildkit.ok, seen.buildkit.output);
  assert.ok(seen.polyarch.ok, seen.polyarch.output);
  assert.deepEqual(written(seen.polyarch.tree), written(seen.buildkit.tree));
  const ctx = seen.polyarch.tree?.find((e) => e.path === "out/ctx");
  assert.equal(ctx?.content, "from-context\n");
});

test("cache and tmpfs mounts without target: also at the working directory", async () => {
  const seen = await d.both(
    {
      Dockerfile: [
        `FROM ${d.base}`,
        "WORKDIR /w",
        "RUN --mount=type=cache,id=wd echo cached > c && mkdir /out && cat c > /out/cache",
        "RUN --mount=type=tmpfs echo t > t && grep -c ' /w tmpfs' /proc/mounts > /out/tmpfs",
        "RUN ls -A /w > /out/left",
        "",
      ].join("\n"),
    },
    { output: "local" },
  );
  assert.ok(seen.buildkit.ok, seen.buildkit.output);
  assert.ok(seen.polyarch.ok, seen.polyarch.output);
  assert.deepEqual(written(seen.polyarch.tree), written(seen.buildkit.tree));
  assert.equal(seen.polyarch.tree?.find((e) => e.path === "out/left")?.content, "");
});

test("a mount without target under WORKDIR /: the same error as BuildKit", async () => {
  for (const type of ["bind", "cache", "tmpfs"]) {
    const seen = await d.both(
      { Dockerfile: `FROM ${d.base}\nRUN --mount=type=${type} true\n`, "f.txt": "x" },
      { output: "local" },
    );
    assertSameError(seen, 'invalid mount target "/"');
  }
});

const idCases = [
  "root",
  "0",
  "alice",
  "1000",
  "alice:alice",
  "1000:1000",
  "alice:2001",
  "1000:staff",
  "bob",
  "4242",
];

test("USER: supplementary groups from /etc/group as BuildKit gives them (id inside the step)", async () => {
  const lines = [
    `FROM ${d.base} AS base`,
    "RUN echo 'alice:x:1000:1000::/home/alice:/bin/sh' >> /etc/passwd && " +
      "echo 'bob:x:1001:2002::/home/bob:/bin/sh' >> /etc/passwd && " +
      "echo 'alice:x:1000:' >> /etc/group && echo 'staff:x:2001:alice,bob' >> /etc/group && " +
      "echo 'ops:x:2002:bob' >> /etc/group && echo 'dev:x:2003:carol,alice' >> /etc/group && " +
      "echo 'wheel2:x:2004:root' >> /etc/group && mkdir -m 777 /out",
  ];
  // Without any USER first, then each form in turn.
  const record = (name: string) => `RUN (id; grep ^Groups /proc/self/status) > /out/${name}`;
  lines.push(record("default"));
  idCases.forEach((u, i) => {
    lines.push(`USER ${u}`, record(`${i}-${u.replace(":", "_")}`));
  });
  const seen = await d.both({ Dockerfile: `${lines.join("\n")}\n` }, { output: "local" });
  assert.ok(seen.buildkit.ok, seen.buildkit.output);
  assert.ok(seen.polyarch.ok, seen.polyarch.output);
  // Only what `id` printed: BuildKit's local export gives every file the client's owner.
  const ids = (tree: typeof seen.buildkit.tree) =>
    written(tree)?.map((e) => ({ path: e.path, content: e.content }));
  assert.deepEqual(ids(seen.polyarch.tree), ids(seen.buildkit.tree));
  assert.equal(ids(seen.polyarch.tree)?.length, idCases.length + 2);
});

/**
 * Two independent stages use one cache id at once; each drops its name in the cache, then waits (a bound,
 * not an assertion) for the other's name to appear, and records what it saw. The commands name the
 * sharing mode: BuildKit's cache keys leave a cache mount's id and sharing out, so equal commands would hit.
 */
const twoUsers = (base: string, sharing: string) => {
  const user = (me: string, other: string) =>
    `RUN --mount=type=cache,id=${sharing}-ids,sharing=${sharing},target=/c S=${sharing}; ` +
    `echo ${me}-in >> /c/$S.log; i=0; while ! grep -q ${other}-in /c/$S.log && [ $i -lt 30 ]; do sleep 0.1; i=$((i+1)); done; ` +
    `echo ${me}-out >> /c/$S.log; cp /c/$S.log /seen`;
  return [
    `FROM ${base} AS a`,
    user("a", "b"),
    `FROM ${base} AS b`,
    user("b", "a"),
    `FROM ${base}`,
    "COPY --from=a /seen /out/a",
    "COPY --from=b /seen /out/b",
    "",
  ].join("\n");
};

test("cache sharing=private: concurrent users each get their own copy", async () => {
  const seen = await d.both({ Dockerfile: twoUsers(d.base, "private") }, { output: "local" });
  assert.ok(seen.buildkit.ok, seen.buildkit.output);
  assert.ok(seen.polyarch.ok, seen.polyarch.output);
  assert.deepEqual(written(seen.polyarch.tree), written(seen.buildkit.tree));
  const content = (path: string) => seen.polyarch.tree?.find((e) => e.path === path)?.content;
  assert.equal(content("out/a"), "a-in\na-out\n");
  assert.equal(content("out/b"), "b-in\nb-out\n");
});

test("cache sharing=locked: the second user waits for the first, and says so", async () => {
  const seen = await d.both({ Dockerfile: twoUsers(d.base, "locked") }, { output: "local" });
  assert.ok(seen.buildkit.ok, seen.buildkit.output);
  assert.ok(seen.polyarch.ok, seen.polyarch.output);
  for (const side of [seen.buildkit, seen.polyarch]) {
    const logs = ["out/a", "out/b"].map((p) => side.tree?.find((e) => e.path === p)?.content ?? "");
    // One ran whole before the other started: its log is one pair, the other's is both pairs in turn.
    const sorted = [...logs].sort((x, y) => x.length - y.length);
    const first = sorted[0]!;
    assert.match(first, /^(a-in\na-out|b-in\nb-out)\n$/);
    const firstName = first[0]!;
    const secondName = firstName === "a" ? "b" : "a";
    assert.equal(sorted[1], `${first}${secondName}-in\n${secondName}-out\n`);
  }
  assert.match(seen.polyarch.output, /waiting for cache mount id=locked-ids \(sharing=locked\)/);
});
