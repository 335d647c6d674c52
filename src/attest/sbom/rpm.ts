/**
 * RPM packages from the rpm database, as RHEL 9, Fedora and their kin keep it: an SQLite file
 * (`/var/lib/rpm/rpmdb.sqlite`, or `/usr/lib/sysimage/rpm/rpmdb.sqlite`) whose `Packages` table holds one
 * rpm header per installed package. The database is read with Node's own SQLite (node:sqlite, part of the
 * runtime: no native add-on, nothing to download), from a private copy: the tree's file (and its
 * write-ahead log) are read no-follow and capped like every other scanned file, so SQLite never opens a path
 * of the image, and an image that is not a valid database gives no packages, never a failed build.
 * The older Berkeley DB and ndb formats are not read.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { packagePurl } from "../purl.ts";
import type { FoundPackage } from "./package.ts";
import { readTreeBytes, readTreeText, type ScanLimits } from "./tree-files.ts";

const databases = ["/var/lib/rpm/rpmdb.sqlite", "/usr/lib/sysimage/rpm/rpmdb.sqlite"];

// rpm header tags and types (rpmtag.h): only those a package's identity needs.
const tag = {
  name: 1000,
  version: 1001,
  release: 1002,
  epoch: 1003,
  vendor: 1011,
  license: 1014,
  arch: 1022,
  sourceRpm: 1044,
};
const typeInt32 = 4;
const typeString = 6;
const typeI18nString = 9;

/** The fields of one header blob (index count, data length, 16-byte index entries, then the data store). */
export function parseRpmHeader(blob: Buffer): Map<number, string | number> {
  const out = new Map<number, string | number>();
  if (blob.length < 8) return out;
  const il = blob.readUInt32BE(0);
  const dl = blob.readUInt32BE(4);
  const start = 8 + il * 16;
  if (il > 0x10000 || start + dl > blob.length) return out;
  const data = blob.subarray(start, start + dl);
  for (let i = 0; i < il; i++) {
    const e = 8 + i * 16;
    const t = blob.readUInt32BE(e);
    const type = blob.readUInt32BE(e + 4);
    const offset = blob.readUInt32BE(e + 8);
    if (!Object.values(tag).includes(t) || offset >= data.length) continue;
    if (type === typeInt32) {
      if (offset + 4 <= data.length) out.set(t, data.readUInt32BE(offset));
    } else if (type === typeString || type === typeI18nString) {
      const end = data.indexOf(0, offset);
      if (end >= 0) out.set(t, data.toString("utf8", offset, end));
    }
  }
  return out;
}

function distroOf(root: string, limits: ScanLimits): { id?: string; version?: string } {
  const text =
    readTreeText(root, "/etc/os-release", limits) ?? readTreeText(root, "/usr/lib/os-release", limits);
  const field = (k: string) => text?.match(new RegExp(`^${k}=("?)([A-Za-z0-9._-]+)\\1$`, "m"))?.[2];
  const out: { id?: string; version?: string } = {};
  const id = field("ID");
  const version = field("VERSION_ID");
  if (id) out.id = id;
  if (version) out.version = version;
  return out;
}

/** The headers of a database file's bytes (and its write-ahead log), read from a private copy. */
function headersOf(db: Buffer, wal: Buffer | undefined): Buffer[] {
  const dir = mkdtempSync(join(tmpdir(), "polyarch-rpmdb-"));
  try {
    const file = join(dir, "rpmdb.sqlite");
    writeFileSync(file, db, { mode: 0o600 });
    if (wal) writeFileSync(`${file}-wal`, wal, { mode: 0o600 });
    // Loaded on use: a build that scans no rpm database never loads SQLite.
    const { DatabaseSync } = process.getBuiltinModule("node:sqlite") as typeof import("node:sqlite");
    const conn = new DatabaseSync(file, { enableForeignKeyConstraints: false });
    try {
      // Nothing in the file's schema (triggers, views) runs with more than it must.
      conn.exec("PRAGMA trusted_schema=OFF");
      const rows = conn.prepare("SELECT blob FROM Packages ORDER BY hnum").all();
      const out: Buffer[] = [];
      for (const r of rows) if (r.blob instanceof Uint8Array) out.push(Buffer.from(r.blob));
      return out;
    } finally {
      conn.close();
    }
  } catch {
    return []; // not an rpm sqlite database: no packages from it
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export function scanRpm(root: string, limits: ScanLimits): FoundPackage[] {
  const out: FoundPackage[] = [];
  for (const path of databases) {
    const db = readTreeBytes(root, path, limits);
    if (db === undefined) continue;
    const distro = distroOf(root, limits);
    for (const blob of headersOf(db, readTreeBytes(root, `${path}-wal`, limits))) {
      const h = parseRpmHeader(blob);
      const name = h.get(tag.name);
      const version = h.get(tag.version);
      const release = h.get(tag.release);
      if (typeof name !== "string" || typeof version !== "string" || name.startsWith("gpg-pubkey")) continue;
      const full = typeof release === "string" ? `${version}-${release}` : version;
      const epoch = h.get(tag.epoch);
      const source = h.get(tag.sourceRpm);
      const arch = h.get(tag.arch);
      const p: FoundPackage = {
        type: "rpm",
        name,
        version: typeof epoch === "number" ? `${epoch}:${full}` : full,
        purl: packagePurl("rpm", distro.id, name, full, {
          arch: typeof arch === "string" ? arch : undefined,
          epoch: typeof epoch === "number" ? String(epoch) : undefined,
          upstream: typeof source === "string" ? source : undefined,
          distro: distro.id && distro.version ? `${distro.id}-${distro.version}` : undefined,
        }),
        foundIn: path,
      };
      const license = h.get(tag.license);
      if (typeof license === "string") p.license = license;
      const vendor = h.get(tag.vendor);
      if (typeof vendor === "string") p.supplier = vendor;
      if (typeof source === "string") p.sourcePackage = source;
      out.push(p);
    }
  }
  return out;
}
