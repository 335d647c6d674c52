/**
 * The sources of `imagetools create`, read as buildx reads them: a reference (`reg/app:1`), a bare digest
 * (`sha256:…`, an image in the target's repository), or an OCI descriptor as JSON (what `-f FILE` holds; its
 * platform and annotations override what the registry says, its size must agree).
 */
import { jsonSyntaxProblem } from "../../errors/json-syntax.ts";
import { UserError } from "../../errors/user-error.ts";
import { type Descriptor, parseDescriptor } from "../../oci/descriptor.ts";
import { type Digest, isDigest } from "../../oci/digest.ts";
import {
  formatReference,
  type ImageReference,
  parseReference,
  referenceName,
} from "../../registry/reference.ts";

export interface IndexSource {
  /** Where the source's manifest lives (its digest set when a digest or descriptor named it). */
  ref: ImageReference;
  /** Fields given in a descriptor source, laid over the registry's descriptor. */
  override?: Partial<Descriptor>;
  /** How the user wrote it, for errors. */
  text: string;
}

type Parsed = { text: string; ref?: ImageReference; digest?: Digest; override?: Partial<Descriptor> };

function parseOne(text: string): Parsed {
  const trimmed = text.trim();
  if (/^sha256:/.test(trimmed)) {
    if (!isDigest(trimmed)) {
      throw new UserError(`invalid source ${JSON.stringify(text)}: not a sha256 digest`, {
        hint: "a digest is sha256: followed by 64 lowercase hex characters",
      });
    }
    return { text, digest: trimmed as Digest };
  }
  if (trimmed.startsWith("{")) {
    let doc: unknown;
    try {
      doc = JSON.parse(trimmed);
    } catch (e) {
      throw new UserError(`invalid descriptor source: ${jsonSyntaxProblem(e, trimmed)}`, {
        hint: 'a descriptor is JSON like {"mediaType":…,"digest":"sha256:…","size":…}',
      });
    }
    const d = doc as Partial<Descriptor>;
    if (typeof d?.digest !== "string") throw new UserError("invalid descriptor source: it has no digest");
    // Validate with the one descriptor parser, filling what the registry will supply.
    const checked = parseDescriptor({ mediaType: "x", size: 0, ...d }, "descriptor source");
    const override: Partial<Descriptor> = {};
    if (typeof d.mediaType === "string" && d.mediaType) override.mediaType = d.mediaType;
    if (typeof d.size === "number") override.size = checked.size;
    if (checked.annotations && Object.keys(checked.annotations).length)
      override.annotations = checked.annotations;
    if (checked.platform) override.platform = checked.platform;
    return { text, digest: checked.digest, override };
  }
  return { text, ref: parseReference(trimmed) };
}

/**
 * Parses every source and gives those without a repository the one repository the command names (the
 * targets' and the other sources'), as buildx does; with several there is no telling, which is an error.
 */
export function resolveSources(texts: readonly string[], targets: readonly ImageReference[]): IndexSource[] {
  const parsed = texts.map(parseOne);
  const repos = new Set([...targets, ...parsed.flatMap((p) => (p.ref ? [p.ref] : []))].map(referenceName));
  return parsed.map((p) => {
    if (p.ref) return { ref: p.ref, text: p.text };
    if (repos.size !== 1) {
      throw new UserError(
        repos.size === 0
          ? `cannot tell which repository ${JSON.stringify(p.text)} is in`
          : `several repositories are named, so the one of ${JSON.stringify(p.text)} is unclear`,
        { hint: "name it in full (REGISTRY/REPO@sha256:…), or give a single -t in its repository" },
      );
    }
    const { registry, repository } = parseReference([...repos][0]!);
    const out: IndexSource = { ref: { registry, repository, digest: p.digest! }, text: p.text };
    if (p.override) out.override = p.override;
    return out;
  });
}

export function describeSource(s: IndexSource): string {
  return formatReference(s.ref);
}
