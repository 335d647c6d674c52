/** Attestation documents: in-toto statements, SLSA provenance v1, SPDX 2.3 SBOMs scanned from a result tree. */
export {
  type AttestationRequest,
  type AttestationStyle,
  type ProvenanceMode,
  parseAttestFlags,
} from "./attest-options.ts";
export { type ProvenanceInput, provenancePredicate } from "./provenance.ts";
export { type SbomInput, scanPackages, spdxDocument as spdxSbom } from "./sbom/spdx.ts";
export {
  type Attestation,
  type InTotoStatement,
  inTotoMediaType,
  predicateTypeAnnotation,
  slsaProvenanceV1,
  spdxDocument,
  statementBytes,
  statementFileBytes,
} from "./statement.ts";
