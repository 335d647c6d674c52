import assert from "node:assert/strict";
import { chmod, chown, mkdtemp, rm, symlink, unlink, utimes, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { listContextFiles } from "../../../src/dockerfile/context/list-files.ts";
import { hashSelection } from "../../../src/solver/context-hash.ts";

let root: string;
before(async () => {
  root = await mkdtemp(join(tmpdir(), "polyarch-ctxhash-"));
  await writeFile(join(root, "a.txt"), "alpha\n");
  await writeFile(join(root, "b.txt"), "beta\n");
  await symlink("a.txt", join(root, "link"));
});
after(async () => {
  await rm(root, { recursive: true, force: true });
});

/** The digest of the context as a fresh listing sees it (no memo: files are re-read). */
async function digest(): Promise<string> {
  return hashSelection({ root, files: await listContextFiles({ root }) });
}

describe("the digest of a local selection", () => {
  it("ignores modification times", async () => {
    const before = await digest();
    await utimes(join(root, "a.txt"), new Date(1_000_000), new Date(2_000_000));
    assert.equal(await digest(), before);
  });

  it("changes with content, mode, owner and link targets", async () => {
    const seen = new Set([await digest()]);
    const changed = async (what: string) => {
      const d = await digest();
      assert.ok(!seen.has(d), `${what} changes the digest`);
      seen.add(d);
    };
    await writeFile(join(root, "a.txt"), "alpha!\n");
    await changed("content");
    await chmod(join(root, "b.txt"), 0o755);
    await changed("mode");
    if (process.getuid?.() === 0) {
      await chown(join(root, "b.txt"), 1000, 1000);
      await changed("owner");
    }
    await unlink(join(root, "link"));
    await symlink("b.txt", join(root, "link"));
    await changed("link target");
  });

  it("covers exactly the listed files", async () => {
    const files = await listContextFiles({ root, include: ["a.txt"] });
    const only = await hashSelection({ root, files });
    await writeFile(join(root, "b.txt"), "beta, changed\n");
    assert.equal(
      await hashSelection({ root, files: await listContextFiles({ root, include: ["a.txt"] }) }),
      only,
    );
  });
});
