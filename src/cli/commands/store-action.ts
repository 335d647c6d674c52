import { createInterface } from "node:readline/promises";
import { pruneStore, storeUsage, type UsageEntry } from "../../api/store-gc.ts";
import { UserError } from "../../errors/user-error.ts";
import { type PruneFilters, parseFilters, parseSize } from "../../solver/gc-policy.ts";
import type { DuOptions, PruneOptions } from "./store.ts";

export async function duAction(opts: DuOptions): Promise<void> {
  const filters = parseFilters(opts.filter);
  const usage = await storeUsage();
  const now = Date.now();
  const entries = usage.entries
    .filter((e) => matches(e, filters, now))
    .sort((a, b) => b.size - a.size || a.id.localeCompare(b.id));
  const out: string[] = [];
  if (opts.verbose) {
    for (const e of entries) out.push(...verboseRecord(e, now), "");
  } else if (entries.length > 0) {
    out.push(...table(entries, now));
  }
  const shared = entries.filter((e) => e.shared).reduce((n, e) => n + e.size, 0);
  const total = entries.reduce((n, e) => n + e.size, 0);
  const reclaimable = entries.filter((e) => !e.inUse && !e.forImage).reduce((n, e) => n + e.size, 0);
  if (shared > 0) {
    out.push(`Shared:\t\t${humanSize(shared)}`);
    out.push(`Private:\t${humanSize(total - shared)}`);
  }
  out.push(`Reclaimable:\t${humanSize(reclaimable)}`);
  out.push(`Total:\t\t${humanSize(total)}`);
  out.push("");
  out.push(`Layer blobs:\t${usage.blobs.count} (${humanSize(usage.blobs.size)})`);
  out.push(
    `Stored images:\t${usage.images.count} (${humanSize(usage.images.size)}; polyarch rmi removes them)`,
  );
  out.push(`State dir:\t${humanSize(usage.totalBytes)}`);
  process.stdout.write(`${out.map(expandTabs).join("\n")}\n`);
}

export async function pruneAction(opts: PruneOptions): Promise<void> {
  const filters = parseFilters(opts.filter);
  const keepStorageBytes =
    opts.keepStorage === undefined ? undefined : parseSize(opts.keepStorage, "--keep-storage");
  if (!opts.force) {
    const question = opts.all
      ? "WARNING! This will remove all build cache. Are you sure you want to continue? [y/N] "
      : "WARNING! This will remove all build cache that no stored image needs. Are you sure you want to continue? [y/N] ";
    if (!process.stdin.isTTY) {
      throw new UserError("polyarch prune asks for confirmation, and standard input is not a terminal", {
        hint: "add --force to prune without asking",
      });
    }
    const rl = createInterface({ input: process.stdin, output: process.stderr });
    const answer = await rl.question(question);
    rl.close();
    if (!/^y(es)?$/i.test(answer.trim())) return;
  }
  const report = await pruneStore({
    all: opts.all === true,
    filters,
    ...(keepStorageBytes === undefined ? {} : { keepStorageBytes }),
  });
  const now = Date.now();
  const out: string[] = [];
  if (opts.verbose) for (const e of report.removed) out.push(...verboseRecord(e, now), "");
  else if (report.removed.length > 0) out.push(...table(report.removed, now));
  out.push(`Total:\t${humanSize(report.freedBytes)}`);
  process.stdout.write(`${out.map(expandTabs).join("\n")}\n`);
}

function matches(e: UsageEntry, f: PruneFilters, now: number): boolean {
  if (f.types?.length && !f.types.includes(e.type)) return false;
  if (f.unusedForMs !== undefined && now - e.lastUsedMs < f.unusedForMs) return false;
  if (f.id !== undefined && !e.id.startsWith(f.id)) return false;
  return true;
}

/** buildx's table: a shared record's id ends with `*`. */
function table(entries: readonly UsageEntry[], now: number): string[] {
  const rows = [
    ["ID", "RECLAIMABLE", "SIZE", "LAST ACCESSED"],
    ...entries.map((e) => [
      `${e.id}${e.shared ? "*" : ""}`,
      String(!e.inUse && !e.forImage),
      humanSize(e.size),
      `${humanDuration(now - e.lastUsedMs)} ago`,
    ]),
  ];
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows.map((r) =>
    r
      .map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]! + 3)))
      .join("")
      .trimEnd(),
  );
}

function verboseRecord(e: UsageEntry, now: number): string[] {
  return [
    `ID:\t\t${e.id}`,
    `Created at:\t${new Date(e.createdMs).toISOString()}`,
    "Mutable:\tfalse",
    `Reclaimable:\t${!e.inUse && !e.forImage}`,
    `Shared:\t\t${e.shared}`,
    `Size:\t\t${humanSize(e.size)}`,
    `Description:\t${e.description}`,
    `Usage count:\t${e.usageCount}`,
    `Last used:\t${humanDuration(now - e.lastUsedMs)} ago`,
    `Type:\t\t${e.type}`,
  ];
}

/** Tabs to 8-column stops, as a terminal shows them, so the output reads the same when piped. */
function expandTabs(line: string): string {
  let out = "";
  for (const ch of line) {
    if (ch === "\t") out += " ".repeat(8 - (out.length % 8));
    else out += ch;
  }
  return out;
}

/** go-units HumanSize: decimal units, four significant digits (`12.3kB`, `1.5GB`). */
export function humanSize(bytes: number): string {
  const units = ["B", "kB", "MB", "GB", "TB", "PB"];
  let v = bytes;
  let i = 0;
  while (v >= 1000 && i < units.length - 1) {
    v /= 1000;
    i++;
  }
  return `${Number(v.toPrecision(4))}${units[i]}`;
}

/** go-units HumanDuration, as `LAST ACCESSED` shows it. */
export function humanDuration(ms: number): string {
  const s = Math.round(ms / 1000);
  if (s < 1) return "Less than a second";
  if (s === 1) return "1 second";
  if (s < 60) return `${s} seconds`;
  const m = Math.round(s / 60);
  if (m === 1) return "About a minute";
  if (m < 60) return `${m} minutes`;
  const h = Math.round(m / 60);
  if (h === 1) return "About an hour";
  if (h < 48) return `${h} hours`;
  const d = Math.round(h / 24);
  if (d < 14) return `${d} days`;
  if (d < 60) return `${Math.round(d / 7)} weeks`;
  if (d < 730) return `${Math.round(d / 30)} months`;
  return `${Math.round(d / 365)} years`;
}
