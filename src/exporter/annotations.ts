/**
 * `annotation…` keys of an image output, as BuildKit reads them:
 *   annotation.KEY=VAL                         the manifest (each platform's)
 *   annotation-manifest[linux/arm64].KEY=VAL    one platform's manifest
 *   annotation-manifest-descriptor.KEY=VAL      the manifest's entry in the index
 *   annotation-index.KEY=VAL                    the index
 *   annotation-index-descriptor.KEY=VAL         the root descriptor (the OCI layout's index.json entry)
 */
import { UserError } from "../errors/user-error.ts";
import { type Platform, parsePlatform, samePlatform } from "../oci/platform.ts";
import type { AnnotationSpec, AnnotationTarget } from "./output-spec.ts";

const keyPattern = /^annotation(?:-([a-z-]+))?(?:\[([^\]]*)\])?\.(\S+)$/;
const targets: readonly AnnotationTarget[] = ["manifest", "manifest-descriptor", "index", "index-descriptor"];

export function isAnnotationKey(key: string): boolean {
  return /^annotation[-.[]/.test(key);
}

/** Parses one `annotation…=VALUE` attribute; `where` names the -o value for errors. */
export function parseAnnotation(key: string, value: string, where: string): AnnotationSpec {
  const m = keyPattern.exec(key);
  const example = "annotation.org.opencontainers.image.title=app or annotation-index.KEY=VAL";
  if (!m) {
    throw new UserError(`${where}: cannot read annotation key ${JSON.stringify(key)}`, {
      hint: `write ${example}`,
    });
  }
  const [, type = "", platformText, name = ""] = m;
  const target = (type === "" ? "manifest" : type) as AnnotationTarget;
  if (!targets.includes(target)) {
    throw new UserError(
      `${where}: unknown annotation type ${JSON.stringify(type)} in ${JSON.stringify(key)}`,
      {
        hint: "use annotation., annotation-manifest., annotation-manifest-descriptor., annotation-index. or annotation-index-descriptor.",
      },
    );
  }
  const spec: AnnotationSpec = { target, key: name, value };
  if (platformText !== undefined) {
    if (target === "index" || target === "index-descriptor") {
      throw new UserError(`${where}: ${key}: an index annotation cannot name a platform`, {
        hint: "only annotation-manifest[PLATFORM]. and annotation-manifest-descriptor[PLATFORM]. take one",
      });
    }
    spec.platform = parsePlatform(platformText);
  }
  return spec;
}

/** The annotations of one target (for one platform's manifest, when given), later ones winning. */
export function annotationsFor(
  specs: readonly AnnotationSpec[],
  target: AnnotationTarget,
  platform?: Platform,
): Record<string, string> | undefined {
  const out: Record<string, string> = {};
  for (const s of specs) {
    if (s.target !== target) continue;
    if (s.platform && !(platform && samePlatform(s.platform, platform))) continue;
    out[s.key] = s.value;
  }
  return Object.keys(out).length ? out : undefined;
}
