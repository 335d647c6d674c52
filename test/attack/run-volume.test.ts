// `polyarch run -v HOST:CONTAINER` of a hostile image: the container path goes through links the image
// planted (`/linked-tmp -> /tmp`, `/up -> ../../..`). The mount point is placed inside the container's
// root, never on the host: the host's /tmp and /etc get nothing new, and the volume shows up where the
// link leads inside the image.
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { after, before } from "node:test";
import { pushBusyboxImage } from "../harness/images.ts";
import { startRegistry, type TestRegistry } from "../harness/registry.ts";
import { polyarch } from "../support/cli.ts";
import { attack } from "./support/attack.ts";

let reg: TestRegistry;
let work: string;
const image = "hostile-links:1";
const env = () => ({ POLYARCH_ROOT: join(work, "state"), DOCKER_CONFIG: join(work, "docker-config") });

before(async () => {
  reg = await startRegistry();
  await pushBusyboxImage(reg);
  work = await mkdtemp(join(tmpdir(), "polyarch-attack-volume-"));
  const ctx = join(work, "ctx");
  await mkdir(ctx);
  await writeFile(
    join(ctx, "Dockerfile"),
    `FROM ${reg.host}/library/busybox:latest\nRUN ln -s /tmp /linked-tmp && ln -s /etc /linked-etc && ln -s ../../../.. /up\n`,
  );
  const b = await polyarch(["build", "--progress", "plain", "-t", image, ctx], { env: env() });
  assert.equal(b.code, 0, b.stderr);
  await mkdir(join(work, "vol"));
  await writeFile(join(work, "vol", "in"), "volume\n");
});
after(async () => {
  await reg?.stop();
  if (work) await rm(work, { recursive: true, force: true });
});

attack(
  "run -v: a mount point through the image's links stays inside the container's root",
  async (canaries) => {
    const tag = basename(canaries.tmpDir);
    const vol = join(work, "vol");
    const targets = [`/linked-tmp/${tag}/abs`, `/up/tmp/${tag}/rel`, `/linked-etc/${tag}-pwn`];
    for (const target of targets) {
      const r = await polyarch(
        [
          "run",
          "-v",
          `${vol}:${target}`,
          image,
          "sh",
          "-c",
          `cat ${target}/in && ls -d /tmp/${tag}/* /etc/${tag}-pwn 2>/dev/null`,
        ],
        { env: env() },
      );
      assert.equal(r.code === 0 || r.code === 1, true, r.stderr);
      assert.match(r.stdout, /^volume\n/, r.stderr);
    }
    // Nothing was made on the host where the links point (the canaries also check their neighbourhood).
    assert.ok(!existsSync(join(canaries.tmpDir, "abs")));
    assert.ok(!existsSync(join(canaries.tmpDir, "rel")));
    assert.ok(!existsSync(`/etc/${tag}-pwn`));
  },
);
