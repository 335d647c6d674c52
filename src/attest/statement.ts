/**
 * in-toto statements as BuildKit stores them in an attestation manifest: one JSON layer per statement,
 * with an empty `subject` (the image the statement is about is named by the attestation manifest's
 * `vnd.docker.reference.digest` in the index, or by its `subject` in the referrers form).
 */

export const inTotoMediaType = "application/vnd.in-toto+json";
export const inTotoStatementType = "https://in-toto.io/Statement/v0.1";
export const predicateTypeAnnotation = "in-toto.io/predicate-type";
export const slsaProvenanceV1 = "https://slsa.dev/provenance/v1";
export const spdxDocument = "https://spdx.dev/Document";

/** One attestation of one platform, before it is written: what kind, and its predicate. */
export interface Attestation {
  kind: "provenance" | "sbom";
  /** A scan's name when it is not the image's own (BuildKit: `sbom-context` for the build context). */
  scan?: string;
  predicateType: string;
  predicate: unknown;
}

export interface InTotoStatement {
  _type: string;
  predicateType: string;
  subject: { name: string; digest: Record<string, string> }[];
  predicate: unknown;
}

/** The statement's bytes: Go's field order, compact, so identical predicates give identical layers. */
export function statementBytes(attestation: Attestation): Buffer {
  const statement: InTotoStatement = {
    _type: inTotoStatementType,
    predicateType: attestation.predicateType,
    subject: [],
    predicate: attestation.predicate,
  };
  return Buffer.from(JSON.stringify(statement), "utf8");
}

/**
 * A statement as a file beside exported files (type=local, type=tar): its subjects are those files, and it is
 * indented, as BuildKit writes it there.
 */
export function statementFileBytes(attestation: Attestation, subject: InTotoStatement["subject"]): Buffer {
  const statement: InTotoStatement = {
    _type: inTotoStatementType,
    predicateType: attestation.predicateType,
    subject,
    predicate: attestation.predicate,
  };
  return Buffer.from(`${JSON.stringify(statement, null, 2)}\n`, "utf8");
}
