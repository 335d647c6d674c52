// The library entry point: what `import ... from "polyarch"` gives. Each export is a stable, documented API.

export { type AttestationRequest, parseAttestFlags } from "../attest/attest-options.ts";
export { openContentStore } from "../content/index.ts";
export { UserError } from "../errors/user-error.ts";
export { parseOutputs } from "../exporter/parse-outputs.ts";
export * from "../oci/descriptor.ts";
export * from "../oci/digest.ts";
export * from "../oci/image-config.ts";
export * from "../oci/manifest.ts";
export * from "../oci/media-types.ts";
export * from "../oci/platform.ts";
export type { ProgressEvent, ProgressSink } from "../progress/events.ts";
export { createProgress } from "../progress/index.ts";
export {
  type CredentialSource,
  type Credentials,
  DockerConfigCredentials,
  StaticCredentials,
} from "../registry/credentials.ts";
export { formatReference, parseReference } from "../registry/reference.ts";
export { RegistryClients } from "../registry/registry-clients.ts";
export type { RegistryOptions } from "../registry/registry-options.ts";
export { type BuildOptions, type BuildResult, build } from "./build.ts";
export { type CreateIndexOptions, type CreateIndexResult, createIndex } from "./imagetools/create-index.ts";
export { type InspectResult, inspectImage } from "./imagetools/inspect.ts";
export { type RunOptions, runImage } from "./run.ts";
