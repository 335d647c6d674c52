// `polyarch du` and `polyarch prune` walk and delete what RUN steps left (snapshots, cache mounts): a
// step can plant links to the host there. Sizing never follows them and deleting removes the links, never
// what they point at.
import assert from "node:assert/strict";
import { readdir } from "node:fs/promises";
import { join } from "node:path";
import { after, before } from "node:test";
import { pushBusyboxImage } from "../harness/images.ts";
import { startRegistry, type TestRegistry } from "../harness/registry.ts";
import { polyarch } from "../support/cli.ts";
import { attack } from "./support/attack.ts";
import { attackWorkspace } from "./support/build.ts";

let reg: TestRegistry;
let base: string;

before(async () => {
  reg = await startRegistry();
  base = (await pushBusyboxImage(reg)).ref;
});
after(async () => {
  await reg?.stop();
});

attack(
  "du and prune --all never follow links a RUN step or a cache mount planted to the host",
  async (canaries) => {
    await using ws = await attackWorkspace();
    const plant = [
      `ln -s ${canaries.etcFile} /f`,
      `ln -s ${canaries.tmpDir} /d`,
      "mkdir -p /deep/er",
      `ln -s ${canaries.tmpDir} /deep/er/d`,
      `ln -s ${canaries.tmpDir}/keep /deep/k`,
    ].join(" && ");
    const dockerfile = [
      `FROM ${base}`,
      `RUN ${plant}`,
      `RUN --mount=type=cache,target=/cache ln -s ${canaries.tmpDir} /cache/d && ln -s ${canaries.etcFile} /cache/f && mkdir -p /cache/x && ln -s / /cache/x/root`,
    ].join("\n");
    const built = await ws.build(dockerfile);
    assert.equal(built.code, 0, built.stderr);
    const env = { POLYARCH_ROOT: join(ws.dir, "state") };
    const du = await polyarch(["du", "--verbose"], { env });
    assert.equal(du.code, 0, du.stderr);
    assert.match(du.stdout, /Type:\s+exec\.cachemount/);
    const pruned = await polyarch(["prune", "--all", "--force"], { env });
    assert.equal(pruned.code, 0, pruned.stderr);
    assert.deepEqual(await readdir(join(ws.dir, "state", "solver", "dirs")), []);
    assert.deepEqual(await readdir(join(ws.dir, "state", "solver", "cache-mounts")), []);
    // canaries.check() (run by attack()) finds the /etc file and the /tmp directory as they were.
  },
);
