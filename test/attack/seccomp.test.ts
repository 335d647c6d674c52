// RUN steps run under Docker's default seccomp profile: a syscall it blocks (unshare of a user
// namespace, which needs no capability and so is stopped by the filter alone) fails with EPERM, natively
// and under QEMU, while ordinary steps keep working. RUN --security=insecure lifts the sandbox, only with
// the build's --allow security.insecure (as buildx); without it the build fails with a clear error.
import assert from "node:assert/strict";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
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
let seq = 0;

before(async () => {
  reg = await startRegistry();
  base = (await pushBusyboxImage(reg)).ref;
  work = await mkdtemp(join(tmpdir(), "polyarch-attack-seccomp-"));
});
after(async () => {
  await reg?.stop();
  if (work) await rm(work, { recursive: true, force: true });
});

async function build(dockerfile: string, platform: string, extra: string[] = []) {
  const ctx = join(work, `ctx-${++seq}`);
  await mkdir(ctx, { recursive: true });
  await writeFile(join(ctx, "Dockerfile"), dockerfile);
  await using state = await tempStateRoot();
  return polyarch(
    ["build", "--platform", platform, "--progress", "plain", ...extra, "-o", `type=oci,dest=${ctx}.tar`, ctx],
    { env: { POLYARCH_ROOT: state.dir } },
  );
}

// A step that got a namespace of its own (root in it) goes on to aim at the host canary.
const userNsEscape = (c: { etcFile: string }) =>
  `/bin/busybox unshare -U -r /bin/busybox sh -c 'echo in-userns; echo pwned > ${c.etcFile}'`;

attack("a RUN that unshares a user namespace is refused by the default seccomp profile", async (c) => {
  const r = await build(`FROM ${base}\nRUN ${userNsEscape(c)}\n`, "linux/amd64");
  assert.equal(r.code, 1, r.stderr.slice(-3000));
  assert.match(r.stderr, /unshare.*Operation not permitted/);
  assert.doesNotMatch(r.stderr, /^#\d+ \S+ in-userns$/m);
});

for (const platform of ["linux/arm64", "linux/arm/v7"]) {
  attack(`an emulated (${platform}) RUN gets the same profile and still runs ordinary work`, async (c) => {
    const r = await build(
      `FROM ${base}
RUN echo files: $(ls / | wc -l) && sleep 0.2 && cat /etc/passwd > /copy && echo ordinary-ok
RUN ${userNsEscape(c)} || echo blocked-under-qemu
`,
      platform,
    );
    assert.equal(r.code, 0, r.stderr.slice(-3000));
    assert.match(r.stderr, /ordinary-ok/);
    assert.match(r.stderr, /unshare.*Operation not permitted/);
    assert.match(r.stderr, /blocked-under-qemu/);
    assert.doesNotMatch(r.stderr, /^#\d+ \S+ in-userns$/m);
  });
}

attack(
  "RUN --security=insecure without --allow security.insecure is a clear error before any step",
  async (c) => {
    const r = await build(
      `FROM ${base}\nRUN echo first-step\nRUN --security=insecure ${userNsEscape(c)}\n`,
      "linux/amd64",
    );
    assert.equal(r.code, 1);
    assert.match(r.stderr, /security\.insecure entitlement/);
    assert.match(r.stderr, /--allow security\.insecure/);
    assert.match(r.stderr, /Dockerfile:3/);
    assert.doesNotMatch(r.stderr, /first-step/, "nothing ran");
  },
);

attack("RUN --security=insecure with --allow security.insecure lifts the filter", async () => {
  const r = await build(
    `FROM ${base}\nRUN --security=insecure /bin/busybox unshare -U -r /bin/busybox sh -c 'echo in-userns'\n`,
    "linux/amd64",
    ["--allow", "security.insecure"],
  );
  assert.equal(r.code, 0, r.stderr.slice(-3000));
  assert.match(r.stderr, /^#\d+ \S+ in-userns$/m);
});
