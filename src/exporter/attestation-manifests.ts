/**
 * The build's in-toto statements as BuildKit stores them, per platform: an attestation manifest whose
 * layers are the statements (`application/vnd.in-toto+json`, annotated with their predicate type) and
 * whose config is an `unknown/unknown` image config listing them as diff_ids. In the index it is listed
 * with platform `unknown/unknown` and `vnd.docker.reference.type=attestation-manifest` /
 * `vnd.docker.reference.digest=<the image's manifest>`.
 *
 * The referrers style keeps the index to real platforms: the same statements as an OCI 1.1 artifact with
 * `artifactType` and a `subject` naming the platform's manifest, found through the referrers API.
 */

import {
  type Attestation,
  inTotoMediaType,
  predicateTypeAnnotation,
  statementBytes,
} from "../attest/statement.ts";
import type { ContentStore } from "../content/index.ts";
import type { Descriptor } from "../oci/descriptor.ts";
import { digestOf } from "../oci/digest.ts";
import { type ImageManifest, serializeManifest } from "../oci/manifest.ts";
import { MediaType } from "../oci/media-types.ts";
import type { AssembledImage } from "./assemble.ts";
import type { ExportAttestations } from "./types.ts";

export const referenceTypeAnnotation = "vnd.docker.reference.type";
export const referenceDigestAnnotation = "vnd.docker.reference.digest";
export const attestationManifestType = "attestation-manifest";
/** The artifactType of a referrers-style attestation: what the artifact's layers are. */
export const attestationArtifactType = inTotoMediaType;

export interface AttestationManifest {
  style: "index" | "referrers";
  /** The manifest's descriptor as the index (or the referrers list) shows it. */
  manifest: Descriptor;
  config: Descriptor;
  layers: Descriptor[];
  /** The image manifest it is about. */
  subject: Descriptor;
}

const emptyJson = Buffer.from("{}", "utf8");

export async function writeAttestations(
  store: ContentStore,
  images: readonly AssembledImage[],
  attestations: ExportAttestations,
  progress: (name: string) => (detail?: string) => void,
): Promise<AttestationManifest[]> {
  const out: AttestationManifest[] = [];
  for (const [i, image] of images.entries()) {
    const statements = attestations.platforms[i] ?? [];
    if (statements.length === 0) continue;
    const done = progress(`exporting attestation manifest for ${image.manifest.digest}`);
    const layers = await Promise.all(statements.map((s) => writeStatement(store, s)));
    const { platform: _p, annotations: _a, ...subject } = image.manifest;
    const manifest =
      attestations.style === "index"
        ? await indexStyle(store, layers, subject)
        : await referrersStyle(store, layers, subject);
    done();
    out.push({ style: attestations.style, subject, layers, ...manifest });
  }
  return out;
}

async function writeStatement(store: ContentStore, attestation: Attestation): Promise<Descriptor> {
  const bytes = statementBytes(attestation);
  const d: Descriptor = { mediaType: inTotoMediaType, digest: digestOf(bytes), size: bytes.length };
  await store.write({ digest: d.digest, size: d.size }, bytes);
  d.annotations = { [predicateTypeAnnotation]: attestation.predicateType };
  return d;
}

async function writeJson(store: ContentStore, bytes: Buffer, mediaType: string): Promise<Descriptor> {
  const d: Descriptor = { mediaType, digest: digestOf(bytes), size: bytes.length };
  await store.write({ digest: d.digest, size: d.size }, bytes);
  return d;
}

async function indexStyle(store: ContentStore, layers: Descriptor[], subject: Descriptor) {
  // The config BuildKit writes: an image config of no platform whose diff_ids are the statements.
  const configBytes = Buffer.from(
    JSON.stringify({
      architecture: "unknown",
      os: "unknown",
      config: {},
      rootfs: { type: "layers", diff_ids: layers.map((l) => l.digest) },
    }),
    "utf8",
  );
  const config = await writeJson(store, configBytes, MediaType.ociConfig);
  const m: ImageManifest = { schemaVersion: 2, mediaType: MediaType.ociManifest, config, layers };
  const written = await writeJson(store, serializeManifest(m), MediaType.ociManifest);
  const manifest: Descriptor = {
    ...written,
    annotations: {
      [referenceDigestAnnotation]: subject.digest,
      [referenceTypeAnnotation]: attestationManifestType,
    },
    platform: { architecture: "unknown", os: "unknown" },
  };
  return { manifest, config };
}

async function referrersStyle(store: ContentStore, layers: Descriptor[], subject: Descriptor) {
  const config = await writeJson(store, emptyJson, MediaType.ociEmpty);
  const annotations = { [referenceTypeAnnotation]: attestationManifestType };
  const m: ImageManifest = {
    schemaVersion: 2,
    mediaType: MediaType.ociManifest,
    artifactType: attestationArtifactType,
    config,
    layers,
    subject,
    annotations,
  };
  const written = await writeJson(store, serializeManifest(m), MediaType.ociManifest);
  // As the referrers API lists it: artifactType and the manifest's annotations on the descriptor.
  const manifest: Descriptor = { ...written, artifactType: attestationArtifactType, annotations };
  return { manifest, config };
}
