/** Alpine packages from apk's installed database, /lib/apk/db/installed (`P:` name, `V:` version, …). */
import { packagePurl } from "../purl.ts";
import type { FoundPackage } from "./package.ts";
import { readTreeText, type ScanLimits } from "./tree-files.ts";

export function scanApk(root: string, limits: ScanLimits): FoundPackage[] {
  const text = readTreeText(root, "/lib/apk/db/installed", limits);
  if (text === undefined) return [];
  const out: FoundPackage[] = [];
  for (const record of text.split(/\n\s*\n/)) {
    const f = new Map<string, string>();
    for (const line of record.split("\n")) {
      if (line.length > 2 && line[1] === ":" && !f.has(line[0]!)) f.set(line[0]!, line.slice(2));
    }
    const name = f.get("P");
    const version = f.get("V");
    if (!name || !version) continue;
    const origin = f.get("o");
    const p: FoundPackage = {
      type: "apk",
      name,
      version,
      purl: packagePurl("apk", "alpine", name, version, {
        arch: f.get("A"),
        upstream: origin && origin !== name ? origin : undefined,
      }),
      foundIn: "/lib/apk/db/installed",
    };
    const license = f.get("L");
    if (license) p.license = license;
    const maintainer = f.get("m");
    if (maintainer) p.supplier = maintainer;
    if (origin) p.sourcePackage = origin;
    out.push(p);
  }
  return out;
}
