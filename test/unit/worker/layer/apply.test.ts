import assert from "node:assert/strict";
import {
  existsSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  realpathSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { UserError } from "../../../../src/errors/user-error.ts";
import { applyLayer } from "../../../../src/worker/layer/apply-layer.ts";
import { bytes, tarOf, tempDir } from "./helpers.ts";
import { describeTree } from "./tree.ts";

/** A snapshot root with a sibling directory standing for "the host", to check nothing lands there. */
function sandbox(): { root: string; outside: string } {
  const base = realpathSync(tempDir());
  const root = join(base, "root");
  const outside = join(base, "outside");
  mkdirSync(root);
  mkdirSync(outside);
  writeFileSync(join(outside, "secret"), "keep");
  return { root, outside };
}

function assertOutsideUntouched(outside: string): void {
  assert.deepEqual(readdirSync(outside), ["secret"]);
  assert.equal(readFileSync(join(outside, "secret"), "utf8"), "keep");
}

function files(root: string): string[] {
  return Object.entries(describeTree(root, { mtimes: false }))
    .map(([path, info]) => `${path}:${info.type}`)
    .sort();
}

describe("applier: whiteouts and opaque directories", () => {
  it("deletes what whiteouts name and hides lower contents of opaque directories", async () => {
    const { root } = sandbox();
    await applyLayer(
      bytes(
        await tarOf([
          { name: "etc/", type: "directory" },
          { name: "etc/a", content: "a" },
          { name: "etc/b", content: "b" },
          { name: "var/", type: "directory" },
          { name: "var/cache/", type: "directory" },
          { name: "var/cache/old1", content: "1" },
          { name: "var/cache/sub/", type: "directory" },
          { name: "var/cache/sub/old2", content: "2" },
        ]),
      ),
      { root },
    );
    await applyLayer(
      bytes(
        await tarOf([
          { name: "etc/.wh.a", content: "" },
          { name: "etc/.wh.missing", content: "" },
          { name: "nothere/.wh.x", content: "" },
          // This layer's own child comes before the marker: it must survive it.
          { name: "var/cache/-new", content: "n" },
          { name: "var/cache/.wh..wh..opq", content: "" },
          { name: "var/cache/zz", content: "z" },
        ]),
      ),
      { root },
    );
    assert.deepEqual(files(root), [
      "etc/b:file",
      "etc:dir",
      "var/cache/-new:file",
      "var/cache/zz:file",
      "var/cache:dir",
      "var:dir",
    ]);
  });
});

describe("applier: hostile layers never write outside the root", () => {
  it("re-roots a symlinked parent that points outside (absolute and relative)", async () => {
    const { root, outside } = sandbox();
    await applyLayer(
      bytes(
        await tarOf([
          { name: "escape", type: "symlink", linkname: outside },
          { name: "escape/pwned", content: "x" },
          { name: "rel", type: "symlink", linkname: "../../../../../../../../outside" },
          { name: "rel/pwned2", content: "y" },
          { name: "dirlink", type: "symlink", linkname: outside },
          { name: "dirlink/sub/", type: "directory" },
          { name: "escape/.wh.secret", content: "" },
          { name: "escape/.wh..wh..opq", content: "" },
        ]),
      ),
      { root },
    );
    assertOutsideUntouched(outside);
    // The writes happened inside the root, where a chroot would have put them.
    assert.equal(readFileSync(join(root, outside, "pwned"), "utf8"), "x");
    assert.equal(readFileSync(join(root, "outside/pwned2"), "utf8"), "y");
    assert.ok(lstatSync(join(root, outside, "sub")).isDirectory());
  });

  it("rejects names that climb out with .. and names the entry", async () => {
    const { root, outside } = sandbox();
    for (const name of ["../outside/evil", "a/../../outside/evil", "./../evil"]) {
      await assert.rejects(
        applyLayer(bytes(await tarOf([{ name, content: "x" }])), { root }),
        (e: unknown) => e instanceof UserError && e.message.includes(JSON.stringify(name)),
      );
    }
    assertOutsideUntouched(outside);
    assert.ok(!existsSync(join(root, "..", "evil")));
  });

  it("puts absolute names under the root", async () => {
    const { root, outside } = sandbox();
    await applyLayer(bytes(await tarOf([{ name: `${outside}/abs`, content: "x" }])), { root });
    assertOutsideUntouched(outside);
    assert.equal(readFileSync(join(root, outside, "abs"), "utf8"), "x");
  });

  it("replaces a symlink at the entry's own path instead of writing through it", async () => {
    const { root, outside } = sandbox();
    await applyLayer(
      bytes(
        await tarOf([
          { name: "t", type: "symlink", linkname: join(outside, "secret") },
          { name: "t", content: "pwned" },
          { name: "u", type: "symlink", linkname: "../outside/secret" },
          { name: "u", type: "directory" },
        ]),
      ),
      { root },
    );
    assertOutsideUntouched(outside);
    assert.equal(readFileSync(join(root, "t"), "utf8"), "pwned");
    assert.ok(lstatSync(join(root, "u")).isDirectory());
  });

  it("refuses hard links to files outside the root", async () => {
    const { root, outside } = sandbox();
    const passwd = lstatSync("/etc/passwd");
    await assert.rejects(
      applyLayer(bytes(await tarOf([{ name: "x", type: "link", linkname: "../../../etc/passwd" }])), {
        root,
      }),
      (e: unknown) =>
        e instanceof UserError && /outside the layer/.test(e.message) && e.message.includes('"x"'),
    );
    // Absolute link names mean "from the layer root": /etc/passwd of the image, which this one lacks.
    await assert.rejects(
      applyLayer(bytes(await tarOf([{ name: "y", type: "link", linkname: "/etc/passwd" }])), { root }),
      (e: unknown) => e instanceof UserError && /does not exist/.test(e.message),
    );
    await assert.rejects(
      applyLayer(
        bytes(
          await tarOf([
            { name: "hostetc", type: "symlink", linkname: "/etc" },
            { name: "z", type: "link", linkname: "hostetc/passwd" },
          ]),
        ),
        { root },
      ),
      (e: unknown) => e instanceof UserError && /does not exist/.test(e.message),
    );
    for (const name of ["x", "y", "z"]) {
      const st = lstatSync(join(root, name), { throwIfNoEntry: false });
      assert.ok(st === undefined || st.ino !== passwd.ino, `${name} must not be /etc/passwd`);
    }
    // A link to a symlink that points outside links the symlink itself; writing the name replaces it.
    await applyLayer(
      bytes(
        await tarOf([
          { name: "s", type: "symlink", linkname: join(outside, "secret") },
          { name: "h", type: "link", linkname: "s" },
          { name: "h", content: "overwritten" },
        ]),
      ),
      { root },
    );
    assert.ok(lstatSync(join(root, "s")).isSymbolicLink());
    assertOutsideUntouched(outside);
  });

  it("stops at symlink loops and malformed whiteouts with a clear error", async () => {
    const { root, outside } = sandbox();
    await assert.rejects(
      applyLayer(
        bytes(
          await tarOf([
            { name: "l1", type: "symlink", linkname: "l2" },
            { name: "l2", type: "symlink", linkname: "l1" },
            { name: "l1/x", content: "x" },
          ]),
        ),
        { root },
      ),
      (e: unknown) =>
        e instanceof UserError && /symbolic links/.test(e.message) && e.message.includes('"l1/x"'),
    );
    await assert.rejects(
      applyLayer(bytes(await tarOf([{ name: "d/.wh..", content: "" }])), { root }),
      (e: unknown) => e instanceof UserError && /whiteout names no file/.test(e.message),
    );
    assertOutsideUntouched(outside);
  });
});
