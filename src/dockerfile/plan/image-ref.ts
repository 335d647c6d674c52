// Image references as Docker's reference package reads them. The frontend may not depend on registry/
// (see scripts/check-layers.mjs), and only needs parsing and normalisation, so it has this small reader.

export interface ImageRef {
  /** Registry host, e.g. `docker.io` or `localhost:5000`. */
  domain: string;
  /** Repository path, e.g. `library/alpine`. */
  path: string;
  tag: string | undefined;
  digest: string | undefined;
}

export type ImageRefResult = { ok: true; ref: ImageRef } | { ok: false; reason: string };

const pathComponent = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const tagPattern = /^[\w][\w.-]{0,127}$/;
const digestPattern = /^[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}$/;
const domainPattern =
  /^(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*|\[[0-9a-fA-F:]+\])(?::[0-9]+)?$/;

/** Parses `name[:tag][@digest]` and fills in Docker Hub's defaults (`alpine` → `docker.io/library/alpine`). */
export function parseImageRef(text: string): ImageRefResult {
  if (text === "") return { ok: false, reason: "invalid reference format: empty name" };
  let rest = text;
  let digest: string | undefined;
  const at = rest.indexOf("@");
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!digestPattern.test(digest)) return { ok: false, reason: "invalid reference format: bad digest" };
  }
  let tag: string | undefined;
  const colon = rest.lastIndexOf(":");
  if (colon > rest.lastIndexOf("/")) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!tagPattern.test(tag)) return { ok: false, reason: "invalid reference format: bad tag" };
  }
  const slash = rest.indexOf("/");
  let domain = "docker.io";
  let path = rest;
  if (slash >= 0) {
    const first = rest.slice(0, slash);
    // Docker's rule: the first component is a registry when it looks like a host (a dot, a port, localhost)
    // or has capitals (which a repository may not).
    if (/[.:]/.test(first) || first === "localhost" || first.toLowerCase() !== first) {
      domain = first;
      path = rest.slice(slash + 1);
      if (!domainPattern.test(domain)) return { ok: false, reason: "invalid reference format: bad registry" };
    }
  }
  if (domain === "index.docker.io") domain = "docker.io";
  if (domain === "docker.io" && !path.includes("/")) path = `library/${path}`;
  const parts = path.split("/");
  if (parts.some((p) => !pathComponent.test(p))) {
    const lower = path.toLowerCase();
    if (lower.split("/").every((p) => pathComponent.test(p)))
      return { ok: false, reason: `invalid reference format: repository name (${path}) must be lowercase` };
    return { ok: false, reason: "invalid reference format" };
  }
  if (domain.length + 1 + path.length > 255)
    return { ok: false, reason: "repository name must not be more than 255 characters" };
  return { ok: true, ref: { domain, path, tag, digest } };
}

/** The full name without tag or digest: `docker.io/library/alpine`. */
export function repositoryName(ref: ImageRef): string {
  return `${ref.domain}/${ref.path}`;
}

/** The full reference, with `:latest` added when it has neither tag nor digest (as BuildKit pins FROM). */
export function formatImageRef(ref: ImageRef, addLatest = true): string {
  let out = repositoryName(ref);
  if (ref.tag !== undefined) out += `:${ref.tag}`;
  else if (ref.digest === undefined && addLatest) out += ":latest";
  if (ref.digest !== undefined) out += `@${ref.digest}`;
  return out;
}

/** The short form Docker shows and named contexts are keyed by: `alpine`, `alpine:3.20`, `ghcr.io/x/y`. */
export function familiarName(ref: ImageRef): string {
  let path = ref.path;
  if (ref.domain === "docker.io" && path.startsWith("library/") && path.split("/").length === 2)
    path = path.slice("library/".length);
  let out = ref.domain === "docker.io" ? path : `${ref.domain}/${path}`;
  if (ref.tag !== undefined && ref.tag !== "latest") out += `:${ref.tag}`;
  if (ref.digest !== undefined) out += `@${ref.digest}`;
  return out;
}
