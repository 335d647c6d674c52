// The library entry point: what `import ... from "polyarch"` gives. Each export is a stable, documented API.

export { UserError } from "../errors/user-error.ts";
export * from "../oci/descriptor.ts";
export * from "../oci/digest.ts";
export * from "../oci/image-config.ts";
export * from "../oci/manifest.ts";
export * from "../oci/media-types.ts";
export * from "../oci/platform.ts";
