// A builder's endpoint becomes arguments of the system ssh client and its name a file name: an endpoint
// whose host or user starts with `-` (read by ssh as an option such as -oProxyCommand=, which runs a
// command) and a name aimed at host paths are refused, whether given to `create` or written into a
// builder file by hand.
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before } from "node:test";
import { polyarch } from "../support/cli.ts";
import { attack } from "./support/attack.ts";

let config: string;
let work: string;

before(async () => {
  work = await mkdtemp(join(tmpdir(), "polyarch-attack-builders-"));
  config = join(work, "config");
});
after(async () => {
  if (work) await rm(work, { recursive: true, force: true });
});

const cli = (args: string[]) => polyarch(args, { env: { XDG_CONFIG_HOME: config } });

attack("ssh endpoints that ssh would read as options never reach ssh", async (canaries) => {
  const marker = join(work, "proxy-command-ran");
  const hostile = [
    `ssh://-oProxyCommand=touch${marker}`,
    `ssh://-oProxyCommand=touch${marker}@host`,
    `ssh://root@-oProxyCommand=touch${marker}`,
    `ssh://root@host:22/-oProxyCommand=touch${marker}`,
    "ssh://root@host:99999",
    `ssh://root@host evil`,
  ];
  for (const endpoint of hostile) {
    const r = await cli(["create", "--name", "x", "--driver", "ssh", endpoint]);
    assert.equal(r.code, 1, endpoint);
    assert.match(r.stderr, /invalid (user in |host in |port in )?ssh endpoint/, endpoint);
  }
  assert.equal(existsSync(join(config, "polyarch", "builders", "x.json")), false);

  // The same endpoint written into a builder file by hand: ls and inspect still never pass it to ssh.
  await mkdir(join(config, "polyarch", "builders"), { recursive: true });
  await writeFile(
    join(config, "polyarch", "builders", "evil.json"),
    JSON.stringify({
      name: "evil",
      nodes: [{ name: "n", driver: "ssh", endpoint: `ssh://-oProxyCommand=touch${marker}`, platforms: [] }],
    }),
  );
  const ls = await cli(["ls"]);
  assert.equal(ls.code, 0, ls.stderr);
  assert.match(ls.stdout, /Cannot load node n of builder evil: invalid (host in )?ssh endpoint/);
  const inspect = await cli(["inspect", "evil", "--bootstrap"]);
  assert.equal(inspect.code, 1);
  assert.equal(existsSync(marker), false, "ssh ran the ProxyCommand");
  void canaries;
});

attack(
  "builder and node names aimed at host paths are refused before anything is written",
  async (canaries) => {
    const before = existsSync(join(config, "polyarch", "builders"))
      ? await readdir(join(config, "polyarch", "builders"))
      : [];
    for (const name of [`../../..${canaries.etcFile}`, canaries.tmpDir, "../x", ".hidden", "a/b"]) {
      let r = await cli(["create", "--name", name]);
      assert.equal(r.code, 1, name);
      assert.match(r.stderr, /invalid builder name/, name);
      r = await cli(["create", "--name", "ok", "--node", name]);
      assert.equal(r.code, 1, name);
      assert.match(r.stderr, /invalid node name/, name);
      for (const cmd of [
        ["use", name],
        ["rm", name],
        ["inspect", name],
      ]) {
        r = await cli(cmd);
        assert.equal(r.code, 1, `${cmd.join(" ")}`);
        assert.match(r.stderr, /invalid builder name/, cmd.join(" "));
      }
    }
    const now = existsSync(join(config, "polyarch", "builders"))
      ? await readdir(join(config, "polyarch", "builders"))
      : [];
    assert.deepEqual(now, before);
  },
);
