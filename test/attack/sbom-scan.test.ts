// The SBOM scanner reads a result tree the Dockerfile made, on the host, as root: links planted to host
// files and directories (absolute and climbing), a fifo where a package database should be, a link where
// an npm manifest should be. None is followed out of the tree, none hangs the scan, no host byte reaches
// the SBOM.
import assert from "node:assert/strict";
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before } from "node:test";
import { runOk } from "../harness/exec.ts";
import { pushBusyboxImage } from "../harness/images.ts";
import { startRegistry, type TestRegistry } from "../harness/registry.ts";
import { polyarch, tempStateRoot } from "../support/cli.ts";
import { attack } from "./support/attack.ts";

// biome-ignore lint/suspicious/noExplicitAny: JSON documents read back as they were written
type Doc = any;

let work: string;
let state: Awaited<ReturnType<typeof tempStateRoot>>;
let reg: TestRegistry;
let baseRef: string;

before(async () => {
  work = await mkdtemp(join(tmpdir(), "polyarch-attack-sbom-"));
  state = await tempStateRoot();
  reg = await startRegistry();
  baseRef = (await pushBusyboxImage(reg)).ref;
});
after(async () => {
  await reg?.stop();
  await state?.[Symbol.asyncDispose]();
  if (work) await rm(work, { recursive: true, force: true });
});

async function sbomOf(tarPath: string): Promise<Doc> {
  const dir = join(work, "out");
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir);
  await runOk("tar", ["-xf", tarPath, "-C", dir]);
  const blob = async (d: string) => JSON.parse(await readFile(join(dir, "blobs/sha256", d.slice(7)), "utf8"));
  const top = JSON.parse(await readFile(join(dir, "index.json"), "utf8"));
  const index = await blob(top.manifests[0].digest);
  const att = index.manifests.find(
    (m: Doc) => m.annotations?.["vnd.docker.reference.type"] === "attestation-manifest",
  );
  assert.ok(att, "no attestation manifest");
  const manifest = await blob(att.digest);
  const layer = manifest.layers.find(
    (l: Doc) => l.annotations["in-toto.io/predicate-type"] === "https://spdx.dev/Document",
  );
  return (await blob(layer.digest)).predicate;
}

attack(
  "SBOM scan of a tree with links to host package databases, a fifo database and a linked npm manifest",
  async (canaries) => {
    // Host files a link in the image aims at: a dpkg database and an npm manifest that must never be read.
    const host = join(canaries.tmpDir, "..", `polyarch-sbom-host-${process.pid}`);
    await mkdir(join(host, "status.d"), { recursive: true });
    const hostStatus = "Package: hostsecret\nStatus: install ok installed\nVersion: 6.6.6\n";
    await writeFile(join(host, "status"), hostStatus);
    await writeFile(join(host, "status.d", "hostsecret"), hostStatus);
    await writeFile(join(host, "package.json"), JSON.stringify({ name: "hostpkg", version: "6.6.6" }));
    try {
      const ctx = join(work, "ctx");
      await mkdir(ctx, { recursive: true });
      await writeFile(
        join(ctx, "Dockerfile"),
        `FROM ${baseRef}
RUN mkdir -p /var/lib/dpkg /lib/apk/db /usr/lib/node_modules/evil /usr/lib/python3/x.dist-info \\
 && ln -s ${host}/status /var/lib/dpkg/status \\
 && ln -s ../../../../../../../..${host}/status.d /var/lib/dpkg/status.d \\
 && mkfifo /lib/apk/db/installed \\
 && mkfifo /usr/lib/python3/x.dist-info/METADATA \\
 && ln -s ${host}/package.json /usr/lib/node_modules/evil/package.json \\
 && ln -s / /usr/lib/node_modules/loop
`,
      );
      const out = join(work, "img.tar");
      const r = await polyarch(
        ["build", "--progress=plain", "--sbom=true", "-o", `type=oci,dest=${out}`, ctx],
        {
          env: { POLYARCH_ROOT: state.dir, DOCKER_CONFIG: state.dir, ...reg.env() },
        },
      );
      assert.equal(r.code, 0, r.stderr);
      const sbom = await sbomOf(out);
      const text = JSON.stringify(sbom);
      assert.doesNotMatch(text, /hostsecret|hostpkg|6\.6\.6/);
      // Only the image's own package: nothing was found, nothing was made up.
      assert.deepEqual(
        sbom.packages.map((p: Doc) => p.SPDXID),
        ["SPDXRef-DockerImage"],
      );
      assert.deepEqual((await readdir(host)).sort(), ["package.json", "status", "status.d"]);
    } finally {
      await rm(host, { recursive: true, force: true });
    }
  },
);
