// The clean-up after a RUN step (removing the empty mount points runc made for its mounts) works in a
// tree the step controls: a step that swaps a mount point's parent for a link to a host directory must
// not get the host's empty files and directories deleted (class of BuildKit CVE-2024-23652).
import assert from "node:assert/strict";
import { mkdir, mkdtemp, readdir, readlink, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before } from "node:test";
import { pushBusyboxImage } from "../harness/images.ts";
import { startRegistry, type TestRegistry } from "../harness/registry.ts";
import { polyarch, tempStateRoot } from "../support/cli.ts";
import { attack } from "./support/attack.ts";

let reg: TestRegistry;
let work: string;
let base: string;

before(async () => {
  reg = await startRegistry();
  base = (await pushBusyboxImage(reg)).ref;
  work = await mkdtemp(join(tmpdir(), "polyarch-attack-stubs-"));
});
after(async () => {
  await reg?.stop();
  if (work) await rm(work, { recursive: true, force: true });
});

async function build(name: string, dockerfile: string) {
  const ctx = join(work, name);
  await mkdir(ctx, { recursive: true });
  await writeFile(join(ctx, "Dockerfile"), dockerfile);
  await writeFile(join(work, "secret"), "s3cret");
  await using state = await tempStateRoot();
  const out = join(work, `${name}-out`);
  const r = await polyarch(
    [
      "build",
      "--platform",
      "linux/amd64",
      "--progress",
      "plain",
      "--secret",
      `id=s,src=${join(work, "secret")}`,
      "-o",
      `type=local,dest=${out}`,
      ctx,
    ],
    { env: { POLYARCH_ROOT: state.dir } },
  );
  return { ...r, out };
}

attack(
  "a RUN that swaps its mount points' parent for a link to a host dir gets no host file deleted",
  async (c) => {
    // /x/empty and /x/zero are mount points the image lacks, so runc makes them (and /x) as stubs; the
    // whiteout of /x (made and removed by earlier steps) has runc make them in the step's own upper dir.
    // The step moves /x aside and puts a link to the host canary dir in its place, whose `empty` dir and
    // `zero` file look exactly like stubs to a clean-up that follows the link.
    const r = await build(
      "swap",
      `FROM ${base}
RUN mkdir /x
RUN rmdir /x
RUN --mount=type=tmpfs,target=/x/empty --mount=type=secret,id=s,target=/x/zero \\
    mv /x /x.moved && ln -s ${c.tmpDir} /x && echo swapped
`,
    );
    assert.equal(r.code, 0, r.stderr.slice(-3000));
    assert.match(r.stderr, /swapped/);
    // The image holds what the step made: the link, and the directory it moved away (with the mount
    // points that moved along: once the step moved them they are its own, and the clean-up leaves them).
    assert.equal(await readlink(join(r.out, "x")), c.tmpDir);
    assert.deepEqual((await readdir(join(r.out, "x.moved"))).sort(), ["empty", "zero"]);
  },
);
