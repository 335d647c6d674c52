// A build context with links out of it (a cloned repository's `config -> /etc/...`): a COPY or ADD that
// names such a link is an error, a directory holding one copies the link as a link, and nothing on the
// host is read into the image, quoted in an error or changed.
import assert from "node:assert/strict";
import { existsSync, lstatSync, readdirSync, readFileSync, readlinkSync } from "node:fs";
import { join } from "node:path";
import { after, before } from "node:test";
import { attack } from "./support/attack.ts";
import { type AttackWorkspace, attackWorkspace, type BuildOutcome } from "./support/build.ts";

let ws: AttackWorkspace;
before(async () => {
  ws = await attackWorkspace();
});
after(() => ws?.[Symbol.asyncDispose]());

/** Fails when any byte of a host canary reached the output or the error text. */
function noHostBytes(r: BuildOutcome): void {
  assert.ok(!r.stderr.includes("canary: must never change"), "an error quoted a host file");
  assert.ok(!r.stderr.includes("keep me"), "an error quoted a host file");
  if (!existsSync(r.out)) return;
  const walk = (dir: string): void => {
    for (const name of readdirSync(dir)) {
      const p = join(dir, name);
      const st = lstatSync(p);
      if (st.isDirectory()) walk(p);
      else if (st.isFile()) {
        const text = readFileSync(p, "latin1");
        assert.ok(
          !text.includes("canary: must never change") && !text.includes("keep me"),
          `${p} holds host bytes`,
        );
      }
    }
  };
  walk(r.out);
}

attack("COPY of a context link to a host file is an error that names the source", async (c) => {
  for (const instr of ["COPY link /x", "COPY --chmod=6777 link /x", "ADD link /x", "COPY link* /y/"]) {
    const r = await ws.build(`FROM scratch\n${instr}\n`, { link: { symlink: c.etcFile } });
    noHostBytes(r);
    if (instr.includes("*")) {
      // A wildcard match that resolves to nothing inside the context matches nothing to copy.
      assert.notEqual(r.code, 0, `${instr}: ${r.stderr.slice(-2000)}`);
    } else {
      assert.equal(r.code, 1, `${instr}: ${r.stderr.slice(-2000)}`);
      assert.match(
        r.stderr,
        /^error: .*"\/link": \/link is a symbolic link to ".*", which does not exist in the build context/m,
      );
    }
  }
});

attack(
  "COPY through a context link to a host directory is an error; the host files are not read",
  async (c) => {
    for (const instr of ["COPY hostdir/keep /keep", "COPY hostdir /d", "ADD hostdir/ /d/"]) {
      const r = await ws.build(`FROM scratch\n${instr}\n`, { hostdir: { symlink: c.tmpDir } });
      noHostBytes(r);
      assert.equal(r.code, 1, `${instr}: ${r.stderr.slice(-2000)}`);
    }
  },
);

attack("ADD of a context link to a host archive is an error and extracts nothing", async (c) => {
  const r = await ws.build("FROM scratch\nADD evil.tar /x/\n", { "evil.tar": { symlink: c.etcFile } });
  noHostBytes(r);
  assert.equal(r.code, 1, r.stderr.slice(-2000));
  assert.match(r.stderr, /evil\.tar/);
});

attack(
  "a context directory holding outward links copies them as links, with --chmod and --chown",
  async (c) => {
    const r = await ws.build("FROM scratch\nCOPY --chmod=6777 --chown=1:1 dir/ /d/\n", {
      "dir/file": "mine\n",
      "dir/etc-link": { symlink: c.etcFile },
      "dir/tmp-link": { symlink: c.tmpDir },
      "dir/up": { symlink: "../../../../../../../../.." },
    });
    noHostBytes(r);
    assert.equal(r.code, 0, r.stderr.slice(-3000));
    assert.equal(readlinkSync(join(r.out, "d/etc-link")), c.etcFile);
    assert.equal(readlinkSync(join(r.out, "d/tmp-link")), c.tmpDir);
    assert.equal(readlinkSync(join(r.out, "d/up")), "../../../../../../../../..");
    assert.equal(lstatSync(join(r.out, "d/file")).mode & 0o7777, 0o6777);
  },
);
