/**
 * Packages of language ecosystems found by walking the tree once: npm packages (`package.json` directly
 * in a `node_modules/NAME` or `node_modules/@SCOPE/NAME` directory), Python distributions
 * (`*.dist-info/METADATA`) and Go binaries (executables with embedded build info).
 */
import { packagePurl } from "../purl.ts";
import { goPackages } from "./go-buildinfo.ts";
import type { FoundPackage } from "./package.ts";
import { readHostText, type ScanLimits, walkFiles } from "./tree-files.ts";

const npmManifest = /\/node_modules\/(?:@[^/]+\/)?[^/]+\/package\.json$/;
const pythonMetadata = /\/[^/]+\.dist-info\/METADATA$/;
/** Go binaries this large are read (the section headers and build info only, a few reads each). */
const maxBinaryBytes = 1 << 30;
const maxManifestBytes = 1 << 20;

export function scanLanguagePackages(root: string, limits: ScanLimits): FoundPackage[] {
  const out: FoundPackage[] = [];
  const small = { ...limits, maxFileBytes: Math.min(limits.maxFileBytes, maxManifestBytes) };
  walkFiles(root, limits, (e) => {
    if (e.name === "package.json" && npmManifest.test(e.path)) {
      const p = npmPackage(readHostText(e.host, small), e.path);
      if (p) out.push(p);
    } else if (e.name === "METADATA" && pythonMetadata.test(e.path)) {
      const p = pythonPackage(readHostText(e.host, small), e.path);
      if (p) out.push(p);
    } else if ((e.mode & 0o111) !== 0 && e.size >= 64 && e.size <= maxBinaryBytes) {
      out.push(...goPackages(e.host, e.path));
    }
  });
  return out;
}

function npmPackage(text: string | undefined, foundIn: string): FoundPackage | undefined {
  if (text === undefined) return undefined;
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof doc !== "object" || doc === null) return undefined;
  const { name, version, license } = doc as Record<string, unknown>;
  if (typeof name !== "string" || typeof version !== "string" || name === "") return undefined;
  const scoped = name.startsWith("@") && name.includes("/");
  const p: FoundPackage = {
    type: "npm",
    name,
    version,
    purl: scoped
      ? packagePurl("npm", name.slice(0, name.indexOf("/")), name.slice(name.indexOf("/") + 1), version)
      : packagePurl("npm", undefined, name, version),
    foundIn,
  };
  if (typeof license === "string" && license) p.license = license;
  return p;
}

function pythonPackage(text: string | undefined, foundIn: string): FoundPackage | undefined {
  if (text === undefined) return undefined;
  const headers = new Map<string, string>();
  for (const line of text.split("\n")) {
    if (line.trim() === "") break;
    const colon = line.indexOf(":");
    if (colon <= 0 || line.startsWith(" ")) continue;
    const key = line.slice(0, colon).toLowerCase();
    if (!headers.has(key)) headers.set(key, line.slice(colon + 1).trim());
  }
  const name = headers.get("name");
  const version = headers.get("version");
  if (!name || !version) return undefined;
  // purl's pypi names are lower case with `-` for runs of `-_.` (PEP 503 normalisation).
  const normalised = name.toLowerCase().replace(/[-_.]+/g, "-");
  const p: FoundPackage = {
    type: "pypi",
    name,
    version,
    purl: packagePurl("pypi", undefined, normalised, version),
    foundIn,
  };
  const license = headers.get("license");
  if (license && license !== "UNKNOWN") p.license = license;
  return p;
}
