// A hostile tarball as a remote build context (the main one or a --build-context): entries that climb out
// with `..`, absolute names, and a symlink to a host directory followed by a file written "through" it.
// Extraction stays inside the fetched context; the host is untouched and the build ends clearly.
import assert from "node:assert/strict";
import { existsSync, readdirSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before } from "node:test";
import { pack } from "tar-stream";
import { polyarch } from "../support/cli.ts";
import { attack } from "./support/attack.ts";

let dir: string;
let server: Server;
let origin: string;
const tarballs = new Map<string, Buffer>();
let seq = 0;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), "polyarch-attack-tarctx-"));
  server = createServer((req, res) => {
    const body = tarballs.get(req.url ?? "");
    if (!body) {
      res.writeHead(404);
      res.end();
      return;
    }
    res.end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
after(async () => {
  await new Promise((resolve) => server?.close(resolve));
  await rm(dir, { recursive: true, force: true });
});

type Entry = { name: string; type?: "file" | "symlink" | "directory"; linkname?: string; body?: string };

async function serveTar(entries: Entry[]): Promise<string> {
  const p = pack();
  const chunks: Buffer[] = [];
  p.on("data", (c: unknown) => {
    chunks.push(c as Buffer);
  });
  const done = new Promise<void>((resolve) => p.on("end", () => resolve()));
  for (const e of entries) {
    const type = e.type ?? "file";
    const header = {
      name: e.name,
      type,
      mode: type === "directory" ? 0o755 : 0o644,
      ...(e.linkname ? { linkname: e.linkname } : {}),
    };
    if (type === "file") p.entry(header, e.body ?? "");
    else p.entry(header);
  }
  p.finalize();
  await done;
  const path = `/ctx-${++seq}.tar`;
  tarballs.set(path, Buffer.concat(chunks));
  return `${origin}${path}`;
}

async function build(args: string[]) {
  const out = join(dir, `out-${++seq}`);
  const r = await polyarch(["build", "--progress=plain", "-o", `type=local,dest=${out}`, ...args], {
    env: { POLYARCH_ROOT: join(dir, "state") },
  });
  return { ...r, out, output: r.stderr + r.stdout };
}

attack("a context tarball entry that climbs out with .. is refused", async (canaries) => {
  const url = await serveTar([
    { name: "Dockerfile", body: "FROM scratch\nCOPY . /\n" },
    { name: `../../../../../../../../..${canaries.tmpDir}/climbed`, body: "pwned\n" },
  ]);
  const r = await build([url]);
  assert.notEqual(r.code, 0, r.output);
  assert.match(r.stderr, /climbs out of the destination/);
  assert.ok(!existsSync(join(canaries.tmpDir, "climbed")));
});

attack(
  "a context tarball that writes through its own link to a host directory stays inside",
  async (canaries) => {
    const url = await serveTar([
      { name: "Dockerfile", body: "FROM scratch\nCOPY dir/ /got/\n" },
      { name: "esc", type: "symlink", linkname: canaries.tmpDir },
      { name: "esc/through", body: "pwned\n" },
      { name: "dir/", type: "directory" },
      { name: "dir/ok.txt", body: "ok\n" },
      { name: `/abs${canaries.shmFile}`, body: "abs\n" },
    ]);
    const r = await build([url]);
    assert.equal(r.code, 0, r.output);
    assert.deepEqual(readdirSync(join(r.out, "got")), ["ok.txt"]);
    assert.ok(!existsSync(join(canaries.tmpDir, "through")));
  },
);

attack("a named tarball context with a link to a host file copies no host bytes", async (canaries) => {
  const url = await serveTar([{ name: "secret", type: "symlink", linkname: canaries.etcFile }]);
  const ctx = join(dir, `local-${++seq}`);
  const { mkdir, writeFile } = await import("node:fs/promises");
  await mkdir(ctx);
  await writeFile(join(ctx, "Dockerfile"), "FROM scratch\nCOPY --from=t secret /secret\n");
  const r = await build(["--build-context", `t=${url}`, ctx]);
  assert.doesNotMatch(r.output, /canary: must never change/);
  if (r.code === 0) {
    const { lstatSync, readlinkSync } = await import("node:fs");
    assert.ok(lstatSync(join(r.out, "secret")).isSymbolicLink());
    assert.equal(readlinkSync(join(r.out, "secret")), canaries.etcFile);
  } else assert.doesNotMatch(r.stderr, /looks like a bug/);
});
