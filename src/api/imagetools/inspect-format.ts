/**
 * `imagetools inspect` output as buildx prints it: the default view (Name, MediaType, Digest and, for an
 * index, each entry with its platform as stored), and Go templates over buildx's template input
 * (`.Name`, `.Manifest`, `.Image`, `.Provenance`, `.SBOM`; `{{json .}}` shows name, manifest and image).
 */
import type { ContentStore } from "../../content/index.ts";
import type { RegistryClients } from "../../registry/registry-clients.ts";
import { goDescriptor, goImage, goIndexManifest } from "./go-json.ts";
import {
  executeTemplate,
  parseTemplate,
  startsWithManifestField,
  type TemplateObject,
} from "./go-template.ts";
import { type InspectResult, inspectImage } from "./inspect.ts";
import { type ImageDetails, loadImageDetails } from "./inspect-details.ts";

/** Renders `format` (a Go template; empty for the default view) for `reference`. */
export async function formatInspect(
  clients: RegistryClients,
  store: ContentStore,
  reference: string,
  format: string,
): Promise<string> {
  // A bad template costs no request.
  const template = format === "" ? undefined : parseTemplate(format);
  const result = await inspectImage(clients, reference);
  if (!template || startsWithManifestField(template)) return prettyInspect(result);
  const details = await loadImageDetails(clients, store, result.ref, result.resolved);
  return executeTemplate(template, templateInput(reference, result, details));
}

/** Go's tabwriter (padding 1, spaces): each cell but the last of a line padded to its column's width. */
function tabwrite(rows: readonly (readonly string[])[]): string {
  const widths: number[] = [];
  for (const row of rows) {
    for (const [i, c] of row.slice(0, -1).entries()) widths[i] = Math.max(widths[i] ?? 0, c.length + 1);
  }
  return rows
    .map((row) => `${row.map((c, i) => (i < row.length - 1 ? c.padEnd(widths[i]!) : c)).join("")}\n`)
    .join("");
}

/** containerd's platforms.Format: the platform as stored, not normalised (`linux/arm64/v8` stays). */
function storedPlatform(p: { os: string; architecture: string; variant?: string }): string {
  return [p.os || "unknown", p.architecture || "unknown", p.variant].filter(Boolean).join("/");
}

export function prettyInspect(result: InspectResult): string {
  let out = tabwrite([
    ["Name:", result.name],
    ["MediaType:", result.descriptor.mediaType],
    ["Digest:", result.descriptor.digest],
  ]);
  const manifests = result.index?.manifests;
  if (!manifests) return out;
  out += tabwrite([
    ["", ""],
    ["Manifests:", ""],
  ]);
  // Each entry keeps the reference's tag, as buildx's reference.WithDigest does.
  const base = result.name.replace(/@sha256:[a-f0-9]+$/, "");
  let rows: string[][] = [];
  manifests.forEach((m, i) => {
    if (i > 0) rows.push(["", ""]);
    rows.push(["  Name:", `${base}@${m.digest}`], ["  MediaType:", m.mediaType]);
    const p = m.platform;
    if (!p) return;
    rows.push(["  Platform:", storedPlatform(p)]);
    if (p["os.version"]) rows.push(["  OSVersion:", p["os.version"]]);
    if (p["os.features"]?.length) rows.push(["  OSFeatures:", p["os.features"].join(", ")]);
    if (m.urls?.length) rows.push(["  URLs:", m.urls.join(", ")]);
    const annotations = Object.entries(m.annotations ?? {}).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    if (annotations.length) {
      rows.push(["  Annotations:", ""]);
      out += tabwrite(rows);
      rows = [];
      out += tabwrite(annotations.map(([k, v]) => [`    ${k}:`, v]));
    }
  });
  return out + tabwrite(rows);
}

function object(templateType: string, fields: Record<string, unknown>, json: unknown): TemplateObject {
  return {
    templateType,
    field: (name) => (name in fields ? { value: fields[name] } : undefined),
    fieldNames: () => Object.keys(fields),
    jsonValue: () => json,
  };
}

/** buildx's tplInput (one platform) or tplInputs (several): `.Image` and the attestations per platform. */
function templateInput(name: string, result: InspectResult, details: ImageDetails): TemplateObject {
  const manifest = result.index
    ? goIndexManifest(
        JSON.parse(result.raw.toString("utf8")),
        result.descriptor.digest,
        result.descriptor.size,
      )
    : goDescriptor({
        mediaType: result.descriptor.mediaType,
        digest: result.descriptor.digest,
        size: result.descriptor.size,
      });
  const platforms = [...details.keys()];
  const several = platforms.length > 1;
  const image = several
    ? Object.fromEntries(platforms.map((p) => [p, goImage(details.get(p)!.config)]))
    : platforms.length === 1
      ? goImage(details.get(platforms[0]!)!.config)
      : undefined;
  const provenance = (p: string) => {
    const v = details.get(p)?.provenance;
    return v === undefined ? undefined : { SLSA: v };
  };
  const sbom = (p: string) => {
    const v = details.get(p)?.sbom;
    return (
      v && { SPDX: v.SPDX, ...(v.AdditionalSPDXs?.length ? { AdditionalSPDXs: v.AdditionalSPDXs } : {}) }
    );
  };
  const perPlatform = (f: (p: string) => unknown) =>
    Object.fromEntries(platforms.flatMap((p) => (f(p) === undefined ? [] : [[p, f(p)]])));
  // One platform: the stub of the first (an empty object when it has none), as buildx's tplInput does.
  const single = (f: (p: string) => unknown) =>
    (platforms[0] !== undefined ? f(platforms[0]) : undefined) ?? {};
  const json: Record<string, unknown> = {};
  if (name) json.name = name;
  json.manifest = manifest;
  if (image !== undefined && (!several || Object.keys(image).length)) json.image = image;
  return object(
    several ? "imagetools.tplInputs" : "imagetools.tplInput",
    {
      Name: name,
      Manifest: manifest,
      Image: image,
      Provenance: several ? perPlatform(provenance) : single(provenance),
      SBOM: several ? perPlatform(sbom) : single(sbom),
    },
    json,
  );
}
