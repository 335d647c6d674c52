// Builder instances through the CLI, with two real ssh nodes (Debian's openssh-server on 127.0.0.2 and
// 127.0.0.3, each with its own state directory): create, --append, --leave, ls, use, inspect, rm, and a
// node that is down.
import assert from "node:assert/strict";
import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { type SshNodes, startSshNodes } from "../../harness/ssh-nodes.ts";
import { polyarch } from "../../support/cli.ts";

let farm: SshNodes;
let config: string;

before(async () => {
  farm = await startSshNodes(["amd", "arm"]);
  config = await mkdtemp(join(tmpdir(), "polyarch-config-"));
});
after(async () => {
  await farm?.[Symbol.asyncDispose]();
  if (config) await rm(config, { recursive: true, force: true });
});

const cli = (args: string[], env: Record<string, string> = {}) =>
  polyarch(args, { env: { XDG_CONFIG_HOME: config, ...farm.env, ...env } });

interface LsNode {
  name: string;
  driver: string;
  endpoint: string;
  status: string;
  version?: string;
  error?: string;
  platforms: { platform: string; fixed: boolean; emulated: boolean }[];
}
interface LsBuilder {
  name: string;
  current: boolean;
  nodes: LsNode[];
}

async function lsJson(): Promise<LsBuilder[]> {
  const r = await cli(["ls", "--format", "json"]);
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout) as LsBuilder[];
}

test("create, --append, ls, use, inspect, --leave and rm of a builder with two ssh nodes", async () => {
  const [amd, arm] = farm.nodes as [SshNodes["nodes"][0], SshNodes["nodes"][0]];
  // Before anything: only the default builder, this machine, current.
  const first = await lsJson();
  assert.deepEqual(
    first.map((b) => [b.name, b.current, b.nodes.map((n) => [n.name, n.driver, n.status])]),
    [["default", true, [["default", "local", "running"]]]],
  );

  let r = await cli(["create", "--name", "farm", "--node", "amd", "--platform", "linux/amd64", amd.endpoint]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, "farm\n");
  // The builder is a plain file in the config dir.
  assert.deepEqual(await readdir(join(config, "polyarch", "builders")), ["farm.json"]);
  const stored = JSON.parse(await readFile(join(config, "polyarch", "builders", "farm.json"), "utf8"));
  assert.deepEqual(stored.nodes, [
    { name: "amd", driver: "ssh", endpoint: amd.endpoint, platforms: ["linux/amd64"] },
  ]);

  // Without --append an existing builder is not changed.
  r = await cli(["create", "--name", "farm", arm.endpoint]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /builder farm already exists/);
  assert.match(r.stderr, /--append/);

  r = await cli(["create", "--name", "farm", "--append", "--platform", "linux/arm64", "--use", arm.endpoint]);
  assert.equal(r.code, 0, r.stderr);
  // The same machine twice is refused.
  r = await cli(["create", "--name", "farm", "--append", arm.endpoint]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /would both be/);

  let ls = await lsJson();
  const builder = ls.find((b) => b.name === "farm")!;
  assert.equal(builder.current, true);
  assert.equal(ls.find((b) => b.name === "default")!.current, false);
  assert.deepEqual(
    builder.nodes.map((n) => [
      n.name,
      n.driver,
      n.endpoint,
      n.status,
      n.version,
      n.platforms.map((p) => p.platform),
    ]),
    [
      ["amd", "ssh", amd.endpoint, "running", "0.1.0", ["linux/amd64"]],
      // The --append'ed node is named after the builder, as buildx names them.
      ["farm1", "ssh", arm.endpoint, "running", "0.1.0", ["linux/arm64"]],
    ],
  );
  // This machine is amd64: the arm64 node runs it through QEMU, and says so.
  assert.deepEqual(builder.nodes[1]!.platforms, [{ platform: "linux/arm64", fixed: true, emulated: true }]);

  // The table as buildx lays it out: current builder starred, fixed platforms starred.
  r = await cli(["ls"]);
  assert.equal(r.code, 0, r.stderr);
  const lines = r.stdout.split("\n");
  assert.match(lines[0]!, /^NAME\/NODE\s+DRIVER\/ENDPOINT\s+STATUS\s+VERSION\s+PLATFORMS$/);
  assert.ok(
    lines.some((l) => /^farm\*\s+ssh$/.test(l)),
    r.stdout,
  );
  assert.ok(
    lines.some((l) => l.includes(` \\_ ${arm.endpoint}`) && /running\s+0\.1\.0\s+linux\/arm64\*$/.test(l)),
    r.stdout,
  );

  // inspect asks every node (a real ssh login to each) and reports versions and platforms.
  r = await cli(["inspect", "--bootstrap"]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^Name:\s+farm$/m);
  assert.match(r.stdout, new RegExp(`Endpoint:\\s+${arm.endpoint.replace(/[.]/g, "\\.")}`));
  assert.match(r.stdout, /runc:\s+runc version/);
  assert.match(r.stdout, /Emulated:\s+linux\/arm64/);

  // A second builder, then `use` switches between them.
  r = await cli(["create", "--name", "solo", arm.endpoint]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal((await cli(["use", "solo"])).code, 0);
  ls = await lsJson();
  assert.deepEqual(
    ls.filter((b) => b.current).map((b) => b.name),
    ["solo"],
  );
  r = await cli(["use", "nosuch"]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /no builder named "nosuch"/);
  assert.equal((await cli(["use", "--default", "farm"])).code, 0);

  // --leave takes a node out; the last node cannot leave.
  r = await cli(["create", "--name", "farm", "--node", "farm1", "--leave"]);
  assert.equal(r.code, 0, r.stderr);
  ls = await lsJson();
  assert.deepEqual(
    ls.find((b) => b.name === "farm")!.nodes.map((n) => n.name),
    ["amd"],
  );
  r = await cli(["create", "--name", "farm", "--node", "amd", "--leave"]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /last node of builder farm/);
  assert.match(r.stderr, /polyarch rm farm/);

  // rm of the current builder makes the default current again; default itself cannot go.
  r = await cli(["rm", "farm", "solo"]);
  assert.equal(r.code, 0, r.stderr);
  ls = await lsJson();
  assert.deepEqual(
    ls.map((b) => [b.name, b.current]),
    [["default", true]],
  );
  r = await cli(["rm", "default"]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /default builder cannot be removed/);
});

test("a node that is down: ls shows it with why, inspect --bootstrap fails naming it", async () => {
  const [amd, arm] = farm.nodes as [SshNodes["nodes"][0], SshNodes["nodes"][0]];
  assert.equal((await cli(["create", "--name", "down", "--node", "amd", amd.endpoint])).code, 0);
  assert.equal((await cli(["create", "--name", "down", "--node", "arm", "--append", arm.endpoint])).code, 0);
  await arm.stop();
  try {
    const ls = await lsJson();
    const nodes = ls.find((b) => b.name === "down")!.nodes;
    assert.deepEqual(
      nodes.map((n) => [n.name, n.status]),
      [
        ["amd", "running"],
        ["arm", "error"],
      ],
    );
    assert.match(nodes[1]!.error!, /Connection refused/);
    const table = await cli(["ls"]);
    assert.equal(table.code, 0);
    assert.match(table.stdout, /Cannot load node arm of builder down: .*Connection refused/);

    const r = await cli(["inspect", "down", "--bootstrap"]);
    assert.equal(r.code, 1);
    assert.match(r.stdout, /Status:\s+error/);
    assert.match(
      r.stderr,
      new RegExp(
        `builder down is not ready: node arm \\(${arm.endpoint.replace(/[.]/g, "\\.")}\\): .*Connection refused`,
      ),
    );
    assert.match(r.stderr, new RegExp(`ssh -p ${arm.port} root@${arm.address.replace(/[.]/g, "\\.")}`));
  } finally {
    await arm.start();
  }
  // Back up: the same builder answers again.
  const ls = await lsJson();
  assert.deepEqual(
    ls.find((b) => b.name === "down")!.nodes.map((n) => n.status),
    ["running", "running"],
  );
  assert.equal((await cli(["rm", "down"])).code, 0);
});

test("inspect --bootstrap says what to install when polyarch is missing on a node", async () => {
  const [amd] = farm.nodes as [SshNodes["nodes"][0]];
  assert.equal((await cli(["create", "--name", "bare", amd.endpoint])).code, 0);
  // The node's logins get a PATH without polyarch: as on a machine where it was never installed.
  const keys = join(farm.dir, "amd", "authorized_keys");
  const original = await readFile(keys, "utf8");
  const { writeFile } = await import("node:fs/promises");
  await writeFile(keys, original.replace(/PATH=[^"]*/, "PATH=/usr/bin:/bin"));
  try {
    const r = await cli(["inspect", "bare", "--bootstrap"]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /polyarch is not installed there/);
    assert.match(r.stderr, /npm install -g polyarch/);
  } finally {
    await writeFile(keys, original);
  }
  assert.equal((await cli(["inspect", "bare", "--bootstrap"])).code, 0);
  assert.equal((await cli(["rm", "bare"])).code, 0);
});
