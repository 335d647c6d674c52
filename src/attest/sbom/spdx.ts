/**
 * The SBOM of one platform's result tree as an SPDX 2.3 JSON document (the predicate of an in-toto
 * statement of type https://spdx.dev/Document, as BuildKit's scanners write it): a package for the image
 * that CONTAINS one package per record found (dpkg, apk, npm, Python, Go), each with its purl.
 *
 * The document is a function of the tree and `created`: identical trees give identical documents (the
 * namespace is derived from their content), so an unchanged rebuild keeps its digest when `created` is
 * pinned (SOURCE_DATE_EPOCH).
 */
import { createHash } from "node:crypto";
import { formatPlatform, type Platform } from "../../oci/platform.ts";
import { scanApk } from "./apk.ts";
import { scanDpkg } from "./dpkg.ts";
import { scanLanguagePackages } from "./language-packages.ts";
import type { FoundPackage } from "./package.ts";
import { scanRpm } from "./rpm.ts";
import { defaultLimits, type ScanLimits } from "./tree-files.ts";

export interface SbomInput {
  root: string;
  platform: Platform;
  /** The image's name for the document (the first -t name, or the platform). */
  name: string;
  /** ISO 8601, seconds precision. */
  created: string;
  tool: string;
  limits?: ScanLimits;
}

export function scanPackages(root: string, limits: ScanLimits = defaultLimits): FoundPackage[] {
  const all = [
    ...scanDpkg(root, limits),
    ...scanApk(root, limits),
    ...scanRpm(root, limits),
    ...scanLanguagePackages(root, limits),
  ];
  const seen = new Set<string>();
  return all.filter((p) => {
    const key = `${p.purl} ${p.foundIn}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

const sourceInfo: Record<FoundPackage["type"], string> = {
  deb: "acquired package info from DPKG DB",
  apk: "acquired package info from APK DB",
  rpm: "acquired package info from RPM DB",
  npm: "acquired package info from installed node module manifest file",
  pypi: "acquired package info from installed python package manifest file",
  golang: "acquired package info from go module information",
};

/** SPDX ids allow letters, digits, `.` and `-`. */
function spdxId(prefix: string, parts: string): string {
  const hash = createHash("sha256").update(parts).digest("hex").slice(0, 16);
  return `SPDXRef-${prefix}-${hash}`;
}

export function spdxDocument(input: SbomInput): Record<string, unknown> {
  const packages = scanPackages(input.root, input.limits);
  const platform = formatPlatform(input.platform);
  const rootId = "SPDXRef-DockerImage";
  const spdxPackages: Record<string, unknown>[] = [
    {
      name: input.name,
      SPDXID: rootId,
      versionInfo: platform,
      downloadLocation: "NOASSERTION",
      filesAnalyzed: false,
      primaryPackagePurpose: "CONTAINER",
    },
  ];
  const relationships: Record<string, unknown>[] = [
    { spdxElementId: "SPDXRef-DOCUMENT", relationshipType: "DESCRIBES", relatedSpdxElement: rootId },
  ];
  for (const p of packages) {
    const id = spdxId(`Package-${p.type}`, `${p.purl} ${p.foundIn}`);
    const entry: Record<string, unknown> = {
      name: p.name,
      SPDXID: id,
      versionInfo: p.version,
      supplier: p.supplier ? `Person: ${p.supplier.replace(/\n/g, " ")}` : "NOASSERTION",
      downloadLocation: "NOASSERTION",
      filesAnalyzed: false,
      licenseDeclared: "NOASSERTION",
      sourceInfo: `${sourceInfo[p.type]}: ${p.foundIn}`,
      externalRefs: [
        { referenceCategory: "PACKAGE-MANAGER", referenceType: "purl", referenceLocator: p.purl },
      ],
    };
    if (p.license) entry.comment = `declared license: ${p.license}`;
    spdxPackages.push(entry);
    relationships.push({ spdxElementId: rootId, relationshipType: "CONTAINS", relatedSpdxElement: id });
  }
  const contentId = createHash("sha256")
    .update(JSON.stringify([platform, input.name, spdxPackages]))
    .digest("hex");
  return {
    spdxVersion: "SPDX-2.3",
    dataLicense: "CC0-1.0",
    SPDXID: "SPDXRef-DOCUMENT",
    name: `${input.name} (${platform})`,
    documentNamespace: `https://polyarch.invalid/spdx/${contentId}`,
    creationInfo: { created: input.created, creators: [`Tool: ${input.tool}`] },
    packages: spdxPackages,
    relationships,
  };
}
