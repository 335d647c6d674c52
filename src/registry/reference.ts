import { UserError } from "../errors/user-error.ts";
import { type Digest, isDigest } from "../oci/digest.ts";

/**
 * A parsed image reference, normalised the way Docker does: `alpine` is
 * `docker.io/library/alpine:latest`. `tag` and `digest` may both be set (`name:tag@sha256:…`); the digest wins
 * when fetching.
 */
export interface ImageReference {
  /** Registry host as written by users, e.g. `docker.io`, `localhost:5000`, `ghcr.io`. */
  registry: string;
  /** Repository path within the registry, e.g. `library/alpine`. */
  repository: string;
  tag?: string;
  digest?: Digest;
}

export const dockerHubRegistry = "docker.io";
const dockerHubApiHost = "registry-1.docker.io";

// The distribution reference grammar: lowercase path components joined by separators.
const pathComponent = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const tagPattern = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;
const domainComponent = /^(?:[A-Za-z0-9]|[A-Za-z0-9][A-Za-z0-9-]*[A-Za-z0-9])$/;

function refError(text: string, why: string, hint?: string): UserError {
  return new UserError(`invalid image reference ${JSON.stringify(text)}: ${why}`, {
    hint: hint ?? "a reference looks like registry.example.com:5000/team/app:1.0 or app@sha256:<64 hex>",
  });
}

function looksLikeDomain(first: string): boolean {
  return first.includes(".") || first.includes(":") || first === "localhost" || first !== first.toLowerCase();
}

function validDomain(host: string): boolean {
  // IPv6 literals in brackets, or host[:port].
  const m = /^(\[[0-9A-Fa-f:.]+\]|[^:]+)(?::(\d{1,5}))?$/.exec(host);
  if (!m) return false;
  const name = m[1]!;
  if (name.startsWith("[")) return true;
  return name.split(".").every((part) => domainComponent.test(part));
}

export function parseReference(text: string): ImageReference {
  const input = text.trim();
  if (input === "") throw refError(text, "it is empty");
  if (/\s/.test(input)) throw refError(text, "it contains whitespace");
  if (input.includes("://")) {
    throw refError(
      text,
      "it contains a URL scheme",
      "drop the scheme: write localhost:5000/app:1, not http://localhost:5000/app:1",
    );
  }

  let rest = input;
  let digest: Digest | undefined;
  const at = rest.indexOf("@");
  if (at >= 0) {
    const d = rest.slice(at + 1);
    if (!isDigest(d))
      throw refError(
        text,
        `"${d}" is not a valid digest`,
        "a digest is sha256: followed by 64 lowercase hex characters",
      );
    digest = d;
    rest = rest.slice(0, at);
  }

  let tag: string | undefined;
  const lastSlash = rest.lastIndexOf("/");
  const lastColon = rest.lastIndexOf(":");
  if (lastColon > lastSlash) {
    tag = rest.slice(lastColon + 1);
    rest = rest.slice(0, lastColon);
    if (!tagPattern.test(tag))
      throw refError(
        text,
        `"${tag}" is not a valid tag`,
        "a tag has up to 128 letters, digits, '_', '.' and '-', and does not start with '.' or '-'",
      );
  }

  const parts = rest.split("/");
  let registry = dockerHubRegistry;
  if (parts.length > 1 && looksLikeDomain(parts[0]!)) {
    registry = parts.shift()!;
    if (!validDomain(registry)) throw refError(text, `"${registry}" is not a valid registry host`);
  }
  if (registry === "index.docker.io" || registry === dockerHubApiHost) registry = dockerHubRegistry;
  for (const p of parts) {
    if (p === "") throw refError(text, "it has an empty path component");
    if (p !== p.toLowerCase()) throw refError(text, "repository names must be lowercase");
    if (!pathComponent.test(p)) throw refError(text, `"${p}" is not a valid repository path component`);
  }
  if (registry === dockerHubRegistry && parts.length === 1) parts.unshift("library");
  const repository = parts.join("/");
  if (registry.length + 1 + repository.length > 255)
    throw refError(text, "the name is longer than 255 characters");

  const ref: ImageReference = { registry, repository };
  if (tag !== undefined) ref.tag = tag;
  if (digest !== undefined) ref.digest = digest;
  if (tag === undefined && digest === undefined) ref.tag = "latest";
  return ref;
}

/** `registry/repository` */
export function referenceName(ref: ImageReference): string {
  return `${ref.registry}/${ref.repository}`;
}

/** The fully qualified form: `docker.io/library/alpine:latest`, `reg/app:1@sha256:…`. */
export function formatReference(ref: ImageReference): string {
  let s = referenceName(ref);
  if (ref.tag) s += `:${ref.tag}`;
  if (ref.digest) s += `@${ref.digest}`;
  return s;
}

/** What a manifest request names: the digest when known, else the tag. */
export function manifestIdentifier(ref: ImageReference): string {
  return ref.digest ?? ref.tag ?? "latest";
}

/** The host the registry API is served from (Docker Hub's differs from its name). */
export function apiHost(registry: string): string {
  return registry === dockerHubRegistry ? dockerHubApiHost : registry;
}

export function withDigest(ref: ImageReference, digest: Digest): ImageReference {
  const out: ImageReference = { registry: ref.registry, repository: ref.repository, digest };
  if (ref.tag) out.tag = ref.tag;
  return out;
}

/** True for hosts Docker lets you reach over plain HTTP without configuration. */
export function isLoopbackRegistry(registry: string): boolean {
  const host = registry.replace(/:\d+$/, "").replace(/^\[|\]$/g, "");
  return (
    host === "localhost" || host === "::1" || /^127\.\d+\.\d+\.\d+$/.test(host) || host.endsWith(".localhost")
  );
}
