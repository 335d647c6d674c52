/**
 * Debian packages from dpkg's database: /var/lib/dpkg/status (installed ones: `Status: … installed`) and
 * /var/lib/dpkg/status.d/* (one control file per package, as distroless images keep them).
 */
import { packagePurl } from "../purl.ts";
import type { FoundPackage } from "./package.ts";
import { listTreeDir, readHostText, readTreeText, type ScanLimits } from "./tree-files.ts";

/** RFC 822-style stanzas separated by blank lines; continuation lines are dropped (not needed here). */
export function controlStanzas(text: string): Map<string, string>[] {
  const out: Map<string, string>[] = [];
  let cur = new Map<string, string>();
  for (const line of text.split("\n")) {
    if (line.trim() === "") {
      if (cur.size) out.push(cur);
      cur = new Map();
      continue;
    }
    if (line.startsWith(" ") || line.startsWith("\t")) continue;
    const colon = line.indexOf(":");
    if (colon <= 0) continue;
    cur.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
  }
  if (cur.size) out.push(cur);
  return out;
}

function distroOf(root: string, limits: ScanLimits): string {
  const osRelease =
    readTreeText(root, "/etc/os-release", limits) ?? readTreeText(root, "/usr/lib/os-release", limits);
  const id = osRelease?.match(/^ID=("?)([a-z0-9._-]+)\1$/m)?.[2];
  return id ?? "debian";
}

function fromStanza(s: Map<string, string>, foundIn: string, distro: string): FoundPackage | undefined {
  const name = s.get("package");
  const version = s.get("version");
  if (!name || !version) return undefined;
  const arch = s.get("architecture");
  const source = s.get("source")?.split(" ")[0];
  const p: FoundPackage = {
    type: "deb",
    name,
    version,
    purl: packagePurl("deb", distro, name, version, {
      arch,
      upstream: source && source !== name ? source : undefined,
    }),
    foundIn,
  };
  const maintainer = s.get("maintainer");
  if (maintainer) p.supplier = maintainer;
  if (source) p.sourcePackage = source;
  return p;
}

export function scanDpkg(root: string, limits: ScanLimits): FoundPackage[] {
  const distro = distroOf(root, limits);
  const out: FoundPackage[] = [];
  const status = readTreeText(root, "/var/lib/dpkg/status", limits);
  if (status !== undefined) {
    for (const s of controlStanzas(status)) {
      // "install ok installed": the last word is the state; removed or half-configured ones are not there.
      if (!/\binstalled$/.test(s.get("status") ?? "")) continue;
      const p = fromStanza(s, "/var/lib/dpkg/status", distro);
      if (p) out.push(p);
    }
  }
  const dir = listTreeDir(root, "/var/lib/dpkg/status.d");
  for (const name of dir.names) {
    if (name.endsWith(".md5sums")) continue;
    const text = readHostText(`${dir.host}/${name}`, limits);
    if (text === undefined) continue;
    for (const s of controlStanzas(text)) {
      const p = fromStanza(s, `/var/lib/dpkg/status.d/${name}`, distro);
      if (p) out.push(p);
    }
  }
  return out;
}
