/**
 * What a build attests, from buildx's flags: `--provenance`, `--sbom` and `--attest type=…` (their
 * shorthands), and BUILDX_NO_DEFAULT_ATTESTATIONS. Pure parsing; the CLI passes the result to build().
 */
import { UserError } from "../errors/user-error.ts";

export type ProvenanceMode = "min" | "max";

/**
 * Where the statements go. "index" (BuildKit's form): an `unknown/unknown` attestation manifest per
 * platform in the image index. "referrers": OCI 1.1 artifacts whose `subject` is the platform manifest,
 * kept out of the index and pushed through the registry's referrers API (or the referrers tag schema).
 */
export type AttestationStyle = "index" | "referrers";

export interface AttestationRequest {
  provenance?: { mode: ProvenanceMode };
  /**
   * `scanContext`: scan the build context too (`scan-context=true`, or the Dockerfile's
   * `BUILDKIT_SBOM_SCAN_CONTEXT` ARG, which the build reads), as a second SPDX document `sbom-context`.
   */
  sbom?: { scanContext?: boolean };
  style: AttestationStyle;
  /** Added by default (min provenance), not asked for: then only image outputs carry it, as buildx's inline-only. */
  implicit: boolean;
}

export interface AttestFlags {
  provenance?: string;
  sbom?: string;
  attest?: readonly string[];
}

const flagHint = "e.g. --provenance=mode=max, --sbom=true, --attest type=provenance,mode=min";

/** A CSV of key=value pairs; a bare true/false is `disabled=false|true`, as buildx reads its shorthands. */
function fields(text: string, flag: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const part of text.split(",")) {
    const item = part.trim();
    if (item === "") continue;
    const eq = item.indexOf("=");
    if (eq < 0) {
      const bool = parseBool(item);
      if (bool === undefined) {
        throw new UserError(`invalid ${flag} value ${JSON.stringify(item)}`, { hint: flagHint });
      }
      out.set("disabled", String(!bool));
      continue;
    }
    out.set(item.slice(0, eq).trim().toLowerCase(), item.slice(eq + 1).trim());
  }
  return out;
}

function parseBool(v: string): boolean | undefined {
  if (/^(1|t|true)$/i.test(v)) return true;
  if (/^(0|f|false)$/i.test(v)) return false;
  return undefined;
}

/** The attestations a build makes; `env` is the environment (BUILDX_NO_DEFAULT_ATTESTATIONS). */
export function parseAttestFlags(
  flags: AttestFlags,
  env: Readonly<Record<string, string | undefined>> = {},
): AttestationRequest {
  const specs: { type: string; f: Map<string, string>; flag: string }[] = [];
  if (flags.provenance !== undefined) {
    specs.push({
      type: "provenance",
      f: fields(flags.provenance || "true", "--provenance"),
      flag: "--provenance",
    });
  }
  if (flags.sbom !== undefined) {
    specs.push({ type: "sbom", f: fields(flags.sbom || "true", "--sbom"), flag: "--sbom" });
  }
  for (const a of flags.attest ?? []) {
    const f = fields(a, "--attest");
    const type = f.get("type");
    if (type !== "provenance" && type !== "sbom") {
      throw new UserError(`--attest ${JSON.stringify(a)} needs type=provenance or type=sbom`, {
        hint: flagHint,
      });
    }
    f.delete("type");
    specs.push({ type, f, flag: "--attest" });
  }
  const request: AttestationRequest = { style: "index", implicit: false };
  let provenanceSet = false;
  let style: AttestationStyle | undefined;
  for (const { type, f, flag } of specs) {
    const disabled = f.has("disabled") ? parseBool(f.get("disabled")!) : false;
    if (disabled === undefined)
      throw new UserError(`${flag}: disabled= takes true or false`, { hint: flagHint });
    const s = f.get("style");
    if (s !== undefined) {
      if (s !== "index" && s !== "referrers") {
        throw new UserError(`${flag}: unknown style=${s}`, {
          hint: "style=index (attestation manifests in the index, as BuildKit) or style=referrers (OCI 1.1 artifacts with a subject)",
        });
      }
      if (style !== undefined && style !== s) {
        throw new UserError(`${flag}: style=${s} conflicts with style=${style} given before`, {
          hint: "all attestations of a build are stored one way",
        });
      }
      style = s;
    }
    if (type === "provenance") {
      provenanceSet = true;
      const mode = f.get("mode") ?? "min";
      if (mode !== "min" && mode !== "max") {
        throw new UserError(`${flag}: unknown provenance mode=${mode}`, { hint: "mode=min or mode=max" });
      }
      const version = f.get("version");
      if (version !== undefined && version !== "v1") {
        throw new UserError(`${flag}: provenance version=${version} is not supported`, {
          hint: "polyarch writes SLSA provenance v1 (version=v1)",
        });
      }
      checkKeys(f, ["disabled", "mode", "version", "style", "builder-id"], flag);
      if (disabled) delete request.provenance;
      else request.provenance = { mode };
    } else {
      checkKeys(f, ["disabled", "style", "scan-context", "generator"], flag);
      if (f.has("generator")) {
        throw new UserError(`${flag}: generator= (a scanner image) is not supported`, {
          hint: "polyarch scans the result itself (dpkg, apk, npm, Python, Go binaries); drop generator=",
        });
      }
      const scan = parseBool(f.get("scan-context") ?? "false");
      if (scan === undefined) {
        throw new UserError(`${flag}: scan-context= takes true or false`, { hint: "e.g. scan-context=true" });
      }
      if (disabled) delete request.sbom;
      else request.sbom = scan ? { scanContext: true } : {};
    }
  }
  if (style) request.style = style;
  if (!provenanceSet && !noDefault(env)) {
    // buildx adds `mode=min,inline-only=true` when provenance was not mentioned at all.
    request.provenance = { mode: "min" };
    request.implicit = specs.length === 0;
  }
  return request;
}

function checkKeys(f: Map<string, string>, known: readonly string[], flag: string): void {
  for (const k of f.keys()) {
    if (!known.includes(k)) {
      throw new UserError(`${flag}: unknown attribute ${k}=`, { hint: `known: ${known.join(", ")}` });
    }
  }
}

function noDefault(env: Readonly<Record<string, string | undefined>>): boolean {
  const v = env.BUILDX_NO_DEFAULT_ATTESTATIONS;
  if (v === undefined || v === "") return false;
  const b = parseBool(v);
  if (b === undefined) {
    throw new UserError(`BUILDX_NO_DEFAULT_ATTESTATIONS must be true or false, not ${JSON.stringify(v)}`);
  }
  return b;
}
