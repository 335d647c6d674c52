/**
 * What a state dir must look like once a build has finished after any number of killed ones: every blob
 * hashes to its name, every cache record's parts exist, and nothing a killed process made is left (locks,
 * temp files, ingest files, staging dirs, snapshots, trash, build markers).
 *
 * Runtime leftovers (containers, mounts, cgroups, bundles) are checked by test/fault/support/leftovers.ts
 * where that checker exists: see runtimeLeftovers() below, the hook for it.
 */
import { createHash } from "node:crypto";
import { createReadStream, existsSync } from "node:fs";
import { readdir, readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import { stateLeftovers } from "./leftovers.ts";

async function names(dir: string): Promise<string[]> {
  try {
    return await readdir(dir);
  } catch {
    return [];
  }
}

function sha256File(path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const h = createHash("sha256");
    createReadStream(path)
      .on("data", (c) => h.update(c))
      .on("error", reject)
      .on("end", () => resolve(h.digest("hex")));
  });
}

export interface StateReport {
  problems: string[];
  /** Step result dirs under solver/dirs that no chain record names. */
  unreferencedDirs: string[];
}

export async function checkState(stateRoot: string): Promise<StateReport> {
  const problems: string[] = [];
  const content = join(stateRoot, "content");
  const solver = join(stateRoot, "solver");

  for (const hex of await names(join(content, "blobs", "sha256"))) {
    const actual = await sha256File(join(content, "blobs", "sha256", hex));
    if (actual !== hex) problems.push(`blob sha256:${hex} hashes to sha256:${actual}`);
  }

  const used = new Set<string>();
  for (const n of await names(join(solver, "index", "chains"))) {
    if (!n.endsWith(".json")) continue;
    const rec = JSON.parse(await readFile(join(solver, "index", "chains", n), "utf8")) as { chain: string[] };
    for (const d of rec.chain) {
      used.add(d);
      if (!existsSync(join(solver, "dirs", d))) problems.push(`chain record ${n} names missing dir ${d}`);
    }
  }
  for (const n of await names(join(solver, "index", "layers"))) {
    if (!n.endsWith(".json")) continue;
    const rec = JSON.parse(await readFile(join(solver, "index", "layers", n), "utf8")) as {
      empty: boolean;
      descriptor?: { digest: string };
    };
    if (rec.empty) continue;
    const hex = rec.descriptor!.digest.replace(/^sha256:/, "");
    if (!existsSync(join(content, "blobs", "sha256", hex)))
      problems.push(`layer record ${n} names missing blob ${rec.descriptor!.digest}`);
  }

  const mustBeEmpty: [string, (n: string) => boolean][] = [
    [join(solver, "locks"), () => true],
    [join(solver, "builds"), () => true],
    [join(solver, "index", "chains"), (n) => !n.endsWith(".json")],
    [join(solver, "index", "layers"), (n) => !n.endsWith(".json")],
    [join(solver, "cache-mounts"), (n) => n.includes(".new-")],
    [join(solver, "context-index"), (n) => n.includes(".tmp-")],
    [join(solver, "snapshots", "active"), () => true],
    [join(solver, "snapshots", "layers"), () => true],
    [join(solver, "snapshots", "trash"), () => true],
    [join(solver, "snapshots"), (n) => n.includes(".tmp") || n.startsWith(".overlay-probe")],
    [join(content, "ingest"), () => true],
    [join(solver, "gc-trash"), () => true],
    [join(solver, "probing"), () => true],
    [join(content, "refs"), (n) => !n.endsWith(".json")],
  ];
  for (const [dir, left] of mustBeEmpty)
    for (const n of await names(dir)) if (left(n)) problems.push(`left behind: ${join(dir, n)}`);

  const unreferencedDirs: string[] = [];
  for (const n of await names(join(solver, "dirs")))
    if (/^(run|file)-/.test(n) && !used.has(n) && (await stat(join(solver, "dirs", n))).isDirectory())
      unreferencedDirs.push(n);

  problems.push(...(await runtimeLeftovers(stateRoot)));
  return { problems, unreferencedDirs };
}

/** Containers, mounts and bundles left on the state root (leftovers.ts), one line each. */
async function runtimeLeftovers(stateRoot: string): Promise<string[]> {
  const l = await stateLeftovers(stateRoot);
  return [
    ...l.containers.map((c) => `leftover container ${c}`),
    ...l.mounts.map((m) => `leftover mount ${m}`),
    ...l.bundles.map((b) => `leftover bundle ${b}`),
  ];
}
