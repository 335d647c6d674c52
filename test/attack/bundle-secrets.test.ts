// An env secret (RUN --mount=type=secret,env=…) sits in the step's runtime bundle (config.json) while the
// step runs. Another local user must not be able to read it then, and nothing of it may stay on the host
// afterwards: the bundle root is 0700, the bundle 0700, config.json 0600, all removed when the step ends.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { leftoverPlaces } from "../../src/worker/local/local-worker.ts";
import { run } from "../harness/exec.ts";
import { pushBusyboxImage } from "../harness/images.ts";
import { startRegistry, type TestRegistry } from "../harness/registry.ts";
import { polyarch, tempStateRoot } from "../support/cli.ts";
import { attack } from "./support/attack.ts";

const repo = new URL("../../", import.meta.url).pathname;
const secret = "bundle-secret-5f0c9a7e1d";
let reg: TestRegistry;
let base: string;
let work: string;

before(async () => {
  reg = await startRegistry();
  base = (await pushBusyboxImage(reg)).ref;
  work = await mkdtemp(join(tmpdir(), "polyarch-attack-bundle-"));
  await writeFile(join(work, "secret"), secret);
});
after(async () => {
  await reg?.stop();
  if (work) await rm(work, { recursive: true, force: true });
});

/** Every file below `dir` (not following links) whose bytes contain `needle`. */
async function filesHolding(dir: string, needle: string): Promise<string[]> {
  const found: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true }).catch(() => [])) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) found.push(...(await filesHolding(path, needle)));
    else if (entry.isFile() && (await readFile(path).catch(() => Buffer.alloc(0))).includes(needle))
      found.push(path);
  }
  return found;
}

/** Runs `cmd` as the unprivileged user nobody. */
function asNobody(cmd: string[]) {
  return run("setpriv", ["--reuid=65534", "--regid=65534", "--clear-groups", ...cmd]);
}

attack(
  "an env secret in the running step's bundle is unreadable by other users and gone afterwards",
  async () => {
    await using state = await tempStateRoot();
    const ctx = join(work, "ctx");
    await mkdir(ctx, { recursive: true });
    await writeFile(
      join(ctx, "Dockerfile"),
      `FROM ${base}\nRUN --mount=type=secret,id=tok,env=TOK test -n "$TOK" && sleep 3\n`,
    );
    await polyarch(["--version"]); // bundles dist/ first
    const child = spawn(
      process.execPath,
      [
        join(repo, "bin/polyarch.mjs"),
        "build",
        "--platform",
        "linux/amd64",
        "--secret",
        `id=tok,src=${join(work, "secret")}`,
        "-o",
        `type=oci,dest=${join(work, "out.tar")}`,
        ctx,
      ],
      { env: { ...process.env, POLYARCH_ROOT: state.dir }, stdio: ["ignore", "ignore", "pipe"] },
    );
    let stderr = "";
    child.stderr.on("data", (d: Buffer) => {
      stderr += d.toString();
    });
    const exited = new Promise<number | null>((resolve) => child.on("close", resolve));

    // While the step runs: find its bundle, holding the secret in config.json.
    const { bundleRoot } = leftoverPlaces(state.dir);
    let config: string | undefined;
    for (let i = 0; i < 200 && config === undefined; i++) {
      await sleep(50);
      for (const b of await readdir(bundleRoot).catch(() => [] as string[])) {
        const c = join(bundleRoot, b, "config.json");
        if ((await readFile(c, "utf8").catch(() => "")).includes(secret)) config = c;
      }
    }
    assert.ok(config, `no running bundle holding the secret was seen:\n${stderr}`);
    assert.equal((await stat(bundleRoot)).mode & 0o777, 0o700, "bundle root mode");
    assert.equal((await stat(join(config, ".."))).mode & 0o777, 0o700, "bundle mode");
    assert.equal((await stat(config)).mode & 0o777, 0o600, "config.json mode");
    const read = await asNobody(["cat", config]);
    assert.notEqual(read.code, 0, "another user read the bundle's config.json");
    assert.ok(!read.stdout.includes(secret));
    const list = await asNobody(["ls", bundleRoot]);
    assert.notEqual(list.code, 0, "another user listed the bundle root");

    assert.equal(await exited, 0, stderr);
    // Afterwards: no bundle, no bundle root, and the secret's bytes nowhere on /dev/shm or in the state root.
    await assert.rejects(stat(bundleRoot), { code: "ENOENT" });
    assert.deepEqual(await filesHolding("/dev/shm", secret), []);
    assert.deepEqual(await filesHolding(state.dir, secret), []);
  },
);
