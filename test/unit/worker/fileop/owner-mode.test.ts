import assert from "node:assert/strict";
import { chmodSync, lchownSync, lstatSync, statSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { isUserError } from "../../../../src/errors/user-error.ts";
import { compileMode } from "../../../../src/worker/fileop/chmod.ts";
import { copyOf, fixture, isRoot } from "./helpers.ts";

const owner = (p: string) => {
  const st = lstatSync(p);
  return `${st.uid}:${st.gid}`;
};
const mode = (p: string) => (lstatSync(p).mode & 0o7777).toString(8);

const etc = {
  "etc/passwd": "root:x:0:0:root:/root:/bin/sh\napp:x:1001:1002:App:/home/app:/bin/sh\n# comment\nbad line\n",
  "etc/group": "root:x:0:\nstaff:x:2000:app\napp:x:1002:\n",
};

describe("--chown", { skip: !isRoot && "ownership needs root" }, () => {
  const src = { "d/f.txt": "x", "d/sub/g.txt": "y", "d/link": { link: "f.txt" } } as const;

  it("resolves a user name in the destination's /etc/passwd, with the user's primary group", async () => {
    const f = fixture(src, etc);
    await f.run(copyOf("/d", "/app", { owner: { user: "app" } }));
    for (const p of ["app/f.txt", "app/sub", "app/sub/g.txt", "app/link"])
      assert.equal(owner(join(f.dest, p)), "1001:1002", p);
  });

  it("resolves a group name in /etc/group, and takes numbers as they are (gid = uid without a group)", async () => {
    const f = fixture(src, etc);
    await f.run([
      copyOf("/d/f.txt", "/a", { owner: { user: "app", group: "staff" } }),
      copyOf("/d/f.txt", "/b", { owner: { user: "42" } }),
      copyOf("/d/f.txt", "/c", { owner: { user: "42", group: "7" } }),
      copyOf("/d/f.txt", "/d", { owner: { user: "5", group: "staff" } }),
    ]);
    assert.equal(owner(join(f.dest, "a")), "1001:2000");
    assert.equal(owner(join(f.dest, "b")), "42:42");
    assert.equal(owner(join(f.dest, "c")), "42:7");
    assert.equal(owner(join(f.dest, "d")), "5:2000");
  });

  it("gives directories it creates on the way the same owner", async () => {
    const f = fixture(src, etc);
    await f.run(copyOf("/d/f.txt", "/new/deep/", { owner: { user: "app" } }));
    assert.equal(owner(join(f.dest, "new")), "1001:1002");
    assert.equal(owner(join(f.dest, "new/deep")), "1001:1002");
  });

  it("is an error for a name the destination does not know, saying which file was read", async () => {
    const f = fixture(src, etc);
    await assert.rejects(
      f.run(copyOf("/d", "/app", { owner: { user: "nobody" } }), { where: "Dockerfile:4:1" }),
      (e) => {
        assert.ok(isUserError(e));
        assert.match(
          e.message,
          /^Dockerfile:4:1: unable to find user nobody: no matching entries in the destination's \/etc\/passwd$/,
        );
        return true;
      },
    );
    const bare = fixture(src);
    await assert.rejects(
      bare.run(copyOf("/d", "/app", { owner: { user: "app" } })),
      /\(the file does not exist\)/,
    );
    await assert.rejects(
      f.run(copyOf("/d", "/app", { owner: { user: "app", group: "wheel" } })),
      /unable to find group wheel/,
    );
  });

  it("reads /etc/passwd through symlinks inside the destination only", async () => {
    const f = fixture(src, {
      "real/passwd": "app:x:7:8::/:/bin/sh\n",
      "etc/passwd": { link: "/real/passwd" },
    });
    await f.run(copyOf("/d/f.txt", "/a", { owner: { user: "app" } }));
    assert.equal(owner(join(f.dest, "a")), "7:8");
  });

  it("without --chown: root-owned from a local context, the source's owners from another stage", async () => {
    const f = fixture(src);
    for (const p of ["d", "d/f.txt", "d/sub", "d/sub/g.txt"]) lchownSync(join(f.src, p), 1234, 4321);
    lchownSync(join(f.src, "d/link"), 1234, 4321);
    await f.run(copyOf("/d", "/ctx"), { contextInputs: [1] });
    await f.run(copyOf("/d", "/stage"));
    for (const p of ["f.txt", "sub", "sub/g.txt", "link"]) {
      assert.equal(owner(join(f.dest, "ctx", p)), "0:0", p);
      assert.equal(owner(join(f.dest, "stage", p)), "1234:4321", p);
    }
  });
});

describe("--chmod", () => {
  const src = { "d/f.txt": "x", "d/run.sh": "y", "d/sub/g": "z", "d/link": { link: "f.txt" } } as const;
  const prepare = () => {
    const f = fixture(src);
    chmodSync(join(f.src, "d/f.txt"), 0o640);
    chmodSync(join(f.src, "d/run.sh"), 0o750);
    chmodSync(join(f.src, "d/sub"), 0o700);
    chmodSync(join(f.src, "d/sub/g"), 0o604);
    return f;
  };

  it("sets a numeric mode on every copied file and directory", async () => {
    const f = prepare();
    await f.run(copyOf("/d", "/app", { mode: 0o755 }));
    for (const p of ["f.txt", "run.sh", "sub", "sub/g"]) assert.equal(mode(join(f.dest, "app", p)), "755", p);
    assert.ok(lstatSync(join(f.dest, "app/link")).isSymbolicLink());
  });

  it("keeps setuid, setgid and sticky bits a numeric mode gives", async () => {
    const f = prepare();
    await f.run(copyOf("/d/run.sh", "/bin/su", { mode: 0o4755 }));
    assert.equal(mode(join(f.dest, "bin/su")), "4755");
  });

  it("applies a symbolic mode to each entry's own mode", async () => {
    const f = prepare();
    await f.run([
      copyOf("/d", "/ux", { mode: "u+x" }),
      copyOf("/d", "/gow", { mode: "go-w,a+r" }),
      copyOf("/d", "/rx", { mode: "a=rX" }),
    ]);
    const modes = (dir: string) =>
      ["f.txt", "run.sh", "sub", "sub/g"].map((p) => mode(join(f.dest, dir, p))).join(" ");
    assert.equal(modes("ux"), "740 750 700 704");
    assert.equal(modes("gow"), "644 754 744 644");
    // X: execute for directories and for files that had some execute bit.
    assert.equal(modes("rx"), "444 555 555 444");
  });

  it("matches chmod(1) on a table of symbolic modes", () => {
    const cases: [string, number, boolean, number][] = [
      ["u+x", 0o644, false, 0o744],
      ["+x", 0o644, false, 0o755],
      ["g=u", 0o640, false, 0o660],
      ["o=g", 0o754, false, 0o755],
      ["u=rw,go=r", 0o777, false, 0o644],
      ["a-x", 0o755, true, 0o644],
      ["ug+s", 0o755, false, 0o6755],
      ["+t", 0o777, true, 0o1777],
      ["u-s", 0o4755, false, 0o755],
      ["a+X", 0o600, false, 0o600],
      ["a+X", 0o700, false, 0o711],
      ["a+X", 0o600, true, 0o711],
      ["go=", 0o777, false, 0o700],
    ];
    for (const [spec, from, dir, want] of cases) {
      assert.equal(
        compileMode(spec)!(from, dir).toString(8),
        want.toString(8),
        `${spec} on ${from.toString(8)}`,
      );
    }
    assert.throws(() => compileMode("u+q"), /invalid chmod parameter/);
  });

  it("gives a directory made for a directory's contents the octal mode, as BuildKit v0.24 does", async () => {
    const f = prepare();
    await f.run(copyOf("/d/sub", "/made", { mode: 0o700 }));
    assert.equal(mode(join(f.dest, "made")), "700");
    assert.equal(mode(join(f.dest, "made/g")), "700");
    assert.equal(statSync(join(f.dest, "made/g")).isFile(), true);
  });
});
