/** One package an SBOM lists: what it is, where its record was found, and its package URL. */
export interface FoundPackage {
  /** The ecosystem: deb, apk, rpm, npm, pypi, golang. */
  type: "deb" | "apk" | "rpm" | "npm" | "pypi" | "golang";
  name: string;
  version: string;
  purl: string;
  /** The file whose record names it, as the image sees it. */
  foundIn: string;
  license?: string;
  supplier?: string;
  sourcePackage?: string;
}
