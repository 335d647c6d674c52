/**
 * Package URLs (purl, github.com/package-url/purl-spec) for what provenance and SBOM name: images as
 * BuildKit writes them (`pkg:docker/NAME@TAG?platform=linux%2Famd64`), packages by their ecosystem.
 */
import { ociLayoutContextRegistry } from "../oci/layout/spec.ts";
import { formatPlatform, type Platform } from "../oci/platform.ts";

/** Each path segment percent-encoded (`:` of a registry port too), joined by `/`. */
function encodeSegments(name: string): string {
  return name
    .split("/")
    .map((s) => encodeURIComponent(s))
    .join("/");
}

/**
 * An image reference (`docker.io/library/alpine:3.20`, `host:5000/app@sha256:…`) as BuildKit's purl:
 * Docker Hub names in their familiar form, the tag (or the digest when there is none) as the version.
 */
export function imagePurl(ref: string, platform: Platform | undefined): string {
  let rest = ref;
  let digest: string | undefined;
  const at = rest.indexOf("@");
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
  }
  let tag: string | undefined;
  const lastSlash = rest.lastIndexOf("/");
  const colon = rest.lastIndexOf(":");
  if (colon > lastSlash) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
  }
  // An oci-layout:// context is a local image: BuildKit names it `pkg:oci/…`, without a registry.
  const local = rest.startsWith(`${ociLayoutContextRegistry}/`);
  if (local) rest = rest.slice(ociLayoutContextRegistry.length + 1);
  if (rest.startsWith("docker.io/")) rest = rest.slice("docker.io/".length);
  if (rest.startsWith("library/") && rest.split("/").length === 2) rest = rest.slice("library/".length);
  const version = tag ?? digest;
  let out = `pkg:${local ? "oci" : "docker"}/${encodeSegments(rest)}`;
  if (version !== undefined) out += `@${encodeURIComponent(version)}`;
  if (platform) out += `?platform=${encodeURIComponent(formatPlatform(platform))}`;
  return out;
}

/** `pkg:TYPE/[NAMESPACE/]NAME@VERSION[?k=v&…]`, qualifiers sorted as the spec asks. */
export function packagePurl(
  type: string,
  namespace: string | undefined,
  name: string,
  version: string | undefined,
  qualifiers: Readonly<Record<string, string | undefined>> = {},
): string {
  let out = `pkg:${type}/`;
  if (namespace) out += `${encodeSegments(namespace)}/`;
  out += encodeURIComponent(name);
  if (version) out += `@${encodeURIComponent(version)}`;
  const q = Object.entries(qualifiers)
    .filter((e): e is [string, string] => e[1] !== undefined && e[1] !== "")
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([k, v]) => `${k}=${encodeURIComponent(v)}`);
  if (q.length) out += `?${q.join("&")}`;
  return out;
}
