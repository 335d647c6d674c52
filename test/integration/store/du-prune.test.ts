// `polyarch du` and `polyarch prune` through the CLI (issue 8, item 8): du lists what a build made; prune
// --filter, --keep-storage and --all remove what they should and nothing else; a rebuild after any prune
// gives the same image digest as the first build (with SOURCE_DATE_EPOCH and without), and the state dir
// stays consistent.
import assert from "node:assert/strict";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { checkState } from "../../fault/support/state-check.ts";
import { pushBusyboxImage } from "../../harness/images.ts";
import { startRegistry, type TestRegistry } from "../../harness/registry.ts";
import { polyarch } from "../../support/cli.ts";

let reg: TestRegistry;
let base: string;
let work: string;

before(async () => {
  reg = await startRegistry();
  base = (await pushBusyboxImage(reg)).ref;
  work = await mkdtemp(join(tmpdir(), "polyarch-store-gc-"));
});
after(async () => {
  await reg?.stop();
  if (work) await rm(work, { recursive: true, force: true });
});

let seq = 0;
async function fresh(): Promise<{ state: string; ctx: string }> {
  const dir = join(work, `case-${++seq}`);
  const ctx = join(dir, "ctx");
  await mkdir(ctx, { recursive: true });
  // COPY layers depend only on their files; the RUN's files get clamped times with rewrite-timestamp.
  await writeFile(
    join(ctx, "Dockerfile"),
    `FROM ${base}\nCOPY a.txt /a.txt\nCOPY b.txt /b.txt\nRUN echo built > /built.txt\n`,
  );
  await writeFile(join(ctx, "a.txt"), "a\n");
  await writeFile(join(ctx, "b.txt"), "b\n");
  return { state: join(dir, "state"), ctx };
}

async function cli(state: string, args: string[], env: Record<string, string> = {}) {
  return polyarch(args, { env: { POLYARCH_ROOT: state, POLYARCH_GC: "off", ...env } });
}

/** Builds and resolves the image digest and the plain progress log. */
async function build(state: string, ctx: string, extra: string[] = [], env: Record<string, string> = {}) {
  const meta = join(work, `meta-${++seq}.json`);
  const output = extra.includes("-o") ? [] : ["-o", `type=oci,dest=${join(work, `o-${seq}.tar`)}`];
  const r = await cli(
    state,
    ["build", "--progress", "plain", "--metadata-file", meta, ...output, ...extra, ctx],
    env,
  );
  assert.equal(r.code, 0, r.stderr);
  const digest = (JSON.parse(await readFile(meta, "utf8")) as Record<string, string>)[
    "containerimage.digest"
  ]!;
  return { digest, log: r.stderr };
}

interface Row {
  id: string;
  reclaimable: string;
}

async function du(state: string, args: string[] = []): Promise<{ rows: Row[]; text: string }> {
  const r = await cli(state, ["du", ...args]);
  assert.equal(r.code, 0, r.stderr);
  const lines = r.stdout.split("\n");
  const rows: Row[] = [];
  for (const line of lines.slice(1)) {
    if (!/^\S+\s+(true|false)\s/.test(line)) break;
    const [id, reclaimable] = line.split(/\s+/) as [string, string];
    rows.push({ id: id.replace(/\*$/, ""), reclaimable });
  }
  return { rows, text: r.stdout };
}

async function consistent(state: string) {
  const report = await checkState(state);
  assert.deepEqual(report.problems, []);
}

test("du lists what a build made: its steps with their descriptions, contexts, base layers and layers", async () => {
  const { state, ctx } = await fresh();
  await build(state, ctx);
  const { rows, text } = await du(state);
  const kinds = rows.map((r) => r.id.replace(/-.*|:.*/, ""));
  assert.ok(kinds.includes("diff"), text); // the busybox layer, unpacked
  assert.ok(kinds.includes("local"), text); // the context the COPYs read
  assert.equal(kinds.filter((k) => k === "file").length, 2, text);
  assert.equal(kinds.filter((k) => k === "run").length, 1, text);
  assert.equal(kinds.filter((k) => k === "layer").length, 3, text);
  assert.match(text, /^Reclaimable:\s+[\d.]+[kMG]?B$/m);
  assert.match(text, /^Total:\s+\S+B$/m);
  const verbose = (await cli(state, ["du", "--verbose"])).stdout;
  assert.match(verbose, /Description:\s+\[2\/4\] COPY a\.txt \/a\.txt/);
  assert.match(verbose, /Description:\s+\[4\/4\] RUN echo built > \/built\.txt/);
  assert.match(verbose, /Type:\s+source\.local/);
  const onlyLocal = await du(state, ["--filter", "type=source.local"]);
  assert.ok(
    onlyLocal.rows.length >= 1 &&
      onlyLocal.rows.every((r) => r.id.startsWith("local-") || r.id.startsWith("context-index:")),
    onlyLocal.text,
  );
});

test("prune asks first, and refuses without a terminal unless --force", async () => {
  const { state, ctx } = await fresh();
  await build(state, ctx);
  const r = await cli(state, ["prune"]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /standard input is not a terminal/);
  assert.match(r.stderr, /--force/);
  assert.equal((await du(state)).rows.length > 0, true);
});

test("prune --filter type= removes only that type; the rebuild is fully cached with the same digest", async () => {
  const { state, ctx } = await fresh();
  const first = await build(state, ctx);
  const r = await cli(state, ["prune", "--force", "--filter", "type=source.local"]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^local-/m);
  assert.match(r.stdout, /^Total:\s+\S+B$/m);
  const left = await du(state);
  assert.ok(!left.rows.some((row) => row.id.startsWith("local-")), left.text);
  assert.ok(
    left.rows.some((row) => row.id.startsWith("layer:")),
    left.text,
  );
  await consistent(state);
  const again = await build(state, ctx);
  assert.equal(again.digest, first.digest);
});

test("prune --all removes all build cache; rebuilds give the first build's digest, with and without SOURCE_DATE_EPOCH", async () => {
  for (const epoch of [undefined, "1700000000"]) {
    const { state, ctx } = await fresh();
    // Without SOURCE_DATE_EPOCH the RUN's new file times would differ on any rerun, in BuildKit too: the
    // case without it builds COPY steps only, whose layers depend only on their files.
    if (epoch === undefined)
      await writeFile(join(ctx, "Dockerfile"), `FROM ${base}\nCOPY a.txt /a.txt\nCOPY b.txt /b.txt\n`);
    const extra = epoch === undefined ? [] : ["--build-arg", `SOURCE_DATE_EPOCH=${epoch}`];
    const out = (n: string) => [
      "-o",
      `type=oci,dest=${join(work, n)}${epoch ? ",rewrite-timestamp=true" : ""}`,
    ];
    const first = await build(state, ctx, [...extra, ...out(`all-${seq}-1.tar`)]);
    const r = await cli(state, ["prune", "--all", "--force"]);
    assert.equal(r.code, 0, r.stderr);
    const left = await du(state);
    assert.deepEqual(left.rows, [], left.text);
    await consistent(state);
    const again = await build(state, ctx, [...extra, ...out(`all-${seq}-2.tar`)]);
    assert.doesNotMatch(again.log, /CACHED/, "everything ran again");
    assert.equal(again.digest, first.digest, `epoch ${epoch}`);
  }
});

test("prune --keep-storage removes least recently used first until the state dir fits", async () => {
  const { state, ctx } = await fresh();
  await build(state, ctx);
  await writeFile(join(ctx, "b.txt"), "b2\n");
  const second = await build(state, ctx);
  const before = await du(state);
  const total = (text: string) => {
    const m = /^State dir:\s+([\d.]+)(B|kB|MB)$/m.exec(text)!;
    return Number(m[1]) * { B: 1, kB: 1000, MB: 1e6 }[m[2] as "B" | "kB" | "MB"];
  };
  const keep = Math.floor(total(before.text) * 0.8);
  const r = await cli(state, ["prune", "--force", "--keep-storage", String(keep)]);
  assert.equal(r.code, 0, r.stderr);
  const after = await du(state);
  assert.ok(total(after.text) <= keep, `${after.text}\nkeep ${keep}`);
  assert.ok(after.rows.length > 0 && after.rows.length < before.rows.length, after.text);
  await consistent(state);
  // What is left is the newest: the last build is still cached or rebuilds to the same image.
  assert.equal((await build(state, ctx)).digest, second.digest);
});

test("prune without --all keeps the layers a stored image needs; the image rebuilds fully cached", async () => {
  const { state, ctx } = await fresh();
  const meta = join(work, "stored.json");
  const r1 = await cli(state, ["build", "--progress", "plain", "-t", "app:1", "--metadata-file", meta, ctx]);
  assert.equal(r1.code, 0, r1.stderr);
  const r = await cli(state, ["prune", "--force"]);
  assert.equal(r.code, 0, r.stderr);
  const left = await du(state);
  const layers = left.rows.filter((row) => row.id.startsWith("layer:"));
  assert.equal(layers.length, 3, left.text);
  assert.ok(
    layers.every((row) => row.reclaimable === "false"),
    left.text,
  );
  await consistent(state);
  const again = await cli(state, ["build", "--progress", "plain", "-t", "app:1", ctx]);
  assert.equal(again.code, 0, again.stderr);
  assert.match(again.stderr, /CACHED/);
  assert.doesNotMatch(again.stderr, /\bRUN echo built[^\n]*\n#\d+ DONE/);
  const images = await cli(state, ["images"]);
  assert.match(images.stdout, /app:1/);
});

test("the context stat index is listed by du as source.local and goes with prune --all", async () => {
  const { state, ctx } = await fresh();
  // A file changed within 2 s of its read is never recorded (context-stat-index.ts: ctime ticks).
  await new Promise((r) => setTimeout(r, 2100));
  await build(state, ctx);
  const indexDir = join(state, "solver", "context-index");
  const { readdir } = await import("node:fs/promises");
  assert.ok((await readdir(indexDir)).length > 0, "a build over a context records its stat index");
  const listed = await cli(state, ["du", "--verbose", "--filter", "type=source.local"]);
  assert.equal(listed.code, 0, listed.stderr);
  assert.match(listed.stdout, /context stat index/);
  const r = await cli(state, ["prune", "--all", "--force"]);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(await readdir(indexDir).catch(() => []), []);
  await checkState(state);
});
