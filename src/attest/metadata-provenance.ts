/**
 * `--metadata-file`'s `buildx.build.provenance`: what buildx writes there is not the attestation the image
 * carries but the provenance BuildKit keeps in its build history record, which is always made in max mode
 * and in the SLSA v0.2 shape (BuildKit v0.24 records it so, and buildx reads it so), whatever `--provenance`
 * said. buildx then drops an empty builder id and, unless BUILDX_METADATA_PROVENANCE=max, the build steps
 * (`buildConfig`) and `metadata`.
 *
 * polyarch makes its SLSA v1 predicate in max mode and rewrites it into that v0.2 shape here, field by field
 * (the converse of BuildKit's own v0.2 → v1 conversion).
 */

export type MetadataProvenanceMode = "min" | "max";

export const buildKitBuildTypeV02 = "https://mobyproject.org/buildkit@v1";
const buildKitMetadataKey = "https://mobyproject.org/buildkit@v1#metadata";

/**
 * BUILDX_METADATA_PROVENANCE as buildx reads it: `min` (also the default, and any unknown value), `max`,
 * `disabled` or a false boolean (then undefined: no key is written).
 */
export function metadataProvenanceMode(value: string | undefined): MetadataProvenanceMode | undefined {
  if (value === "max") return "max";
  if (value === "min") return "min";
  if (value === "disabled" || /^(0|f|false)$/i.test(value ?? "")) return undefined;
  return "min";
}

type Json = Record<string, unknown>;

function obj(v: unknown): Json {
  return v !== null && typeof v === "object" && !Array.isArray(v) ? (v as Json) : {};
}

/**
 * The v0.2 predicate of a max-mode v1 predicate. `entryPoint` is the Dockerfile's name, as buildx passes it
 * to BuildKit (`filename`), which records it as the config source's entry point.
 */
export function metadataProvenance(
  v1: Json,
  mode: MetadataProvenanceMode,
  entryPoint: string | undefined,
): Json {
  const definition = obj(v1.buildDefinition);
  const external = obj(definition.externalParameters);
  const internal = obj(definition.internalParameters);
  const run = obj(v1.runDetails);
  const metadata = obj(run.metadata);
  const out: Json = {};
  const builderId = obj(run.builder).id;
  if (typeof builderId === "string" && builderId !== "") out.builder = { id: builderId };
  out.buildType = buildKitBuildTypeV02;
  const configSource: Json = {};
  const source = obj(external.configSource);
  if (source.uri !== undefined) configSource.uri = source.uri;
  if (source.digest !== undefined) configSource.digest = source.digest;
  const path = source.path ?? entryPoint;
  if (path !== undefined) configSource.entryPoint = path;
  out.invocation = {
    configSource,
    parameters: obj(external.request),
    environment: { platform: internal.builderPlatform },
  };
  if (mode === "max") {
    if (internal.buildConfig !== undefined) out.buildConfig = internal.buildConfig;
    const m: Json = {};
    if (metadata.invocationID !== undefined) m.buildInvocationID = metadata.invocationID;
    if (metadata.startedOn !== undefined) m.buildStartedOn = metadata.startedOn;
    if (metadata.finishedOn !== undefined) m.buildFinishedOn = metadata.finishedOn;
    const complete = obj(metadata.buildkit_completeness);
    m.completeness = {
      parameters: complete.request === true,
      environment: true,
      materials: complete.resolvedDependencies === true,
    };
    m.reproducible = false;
    m[buildKitMetadataKey] = obj(metadata.buildkit_metadata);
    out.metadata = m;
  }
  const materials = definition.resolvedDependencies;
  if (Array.isArray(materials) && materials.length) out.materials = materials;
  return out;
}
