import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdir, mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { Trash } from "../../../../src/worker/snapshot/trash.ts";

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), "polyarch-trash-"));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function tree(path: string): Promise<string> {
  await mkdir(join(path, "a", "b"), { recursive: true });
  await writeFile(join(path, "a", "b", "f"), "x");
  return path;
}

describe("trash", () => {
  it("discards of one user and drains of another never collide (shared trash root)", async () => {
    const root = join(dir, "shared", "trash");
    const users = [new Trash(root), new Trash(root)];
    let n = 0;
    for (let round = 0; round < 30; round++) {
      await Promise.all(
        users.flatMap((t) => [
          tree(join(dir, "shared", `t${n++}`)).then((p) => t.discard(p)),
          tree(join(dir, "shared", `t${n++}`)).then((p) => t.discard(p)),
          t.drain(),
        ]),
      );
    }
    for (const t of users) await t.drain();
    assert.deepEqual(
      (await readdir(join(dir, "shared"))).filter((e) => e !== "trash"),
      [],
      "every tree went",
    );
    assert.deepEqual(await readdir(root), [], "each user removed its own trash dir");
  });

  it("a drain removes what a dead process left, not what a live one has", async () => {
    const root = join(dir, "left", "trash");
    const child = spawn(process.execPath, ["-e", ""], { stdio: "ignore" });
    await new Promise((r) => child.once("exit", r));
    const dead = join(root, `${child.pid}-0123456789ab`);
    const live = join(root, `${process.ppid}-0123456789ab`);
    await tree(join(dead, "x"));
    await tree(join(live, "x"));
    await new Trash(root).drain();
    assert.deepEqual(await readdir(root), [`${process.ppid}-0123456789ab`]);
  });
});
