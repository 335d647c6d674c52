/**
 * `--annotation [TYPE[PLATFORM],…:]KEY=VALUE` as buildx reads it, for `build` and `imagetools create`:
 * `index:k=v`, `manifest[linux/arm64]:k=v`, `manifest,index:k=v`. Without a type the caller decides what it
 * means (build: the manifest, as BuildKit's `annotation.KEY`). The result is the exporter's AnnotationSpec,
 * so the build flag and `-o …,annotation-index.k=v` meet in one form.
 */
import { UserError } from "../errors/user-error.ts";
import type { AnnotationSpec, AnnotationTarget } from "../exporter/output-spec.ts";
import { parsePlatform } from "../oci/platform.ts";

const types: readonly AnnotationTarget[] = ["manifest", "manifest-descriptor", "index", "index-descriptor"];
const typePattern = /^([a-z-]+)(?:\[([A-Za-z0-9_/-]+)\])?$/;

export function parseAnnotationFlags(values: readonly string[], untyped: AnnotationTarget): AnnotationSpec[] {
  const out: AnnotationSpec[] = [];
  for (const text of values) {
    if (text === "") continue;
    const eq = text.indexOf("=");
    if (eq < 0) {
      throw new UserError(`invalid --annotation ${JSON.stringify(text)}: expected KEY=VALUE`, {
        hint: "write --annotation org.opencontainers.image.title=app, or index:KEY=VALUE for the index",
      });
    }
    const left = text.slice(0, eq);
    const value = text.slice(eq + 1);
    const colon = left.indexOf(":");
    const key = colon < 0 ? left : left.slice(colon + 1);
    if (key === "" || /\s/.test(key)) {
      throw new UserError(`invalid --annotation ${JSON.stringify(text)}: the key is empty or has spaces`, {
        hint: "write --annotation [TYPE:]KEY=VALUE",
      });
    }
    if (colon < 0) {
      out.push({ target: untyped, key, value });
      continue;
    }
    for (const part of left.slice(0, colon).split(",")) {
      const m = typePattern.exec(part);
      if (!m || !types.includes(m[1] as AnnotationTarget)) {
        throw new UserError(
          `invalid --annotation ${JSON.stringify(text)}: unknown type ${JSON.stringify(part)}`,
          {
            hint: `types are ${types.join(", ")}, optionally with a platform: manifest[linux/arm64]:KEY=VALUE`,
          },
        );
      }
      const spec: AnnotationSpec = { target: m[1] as AnnotationTarget, key, value };
      if (m[2] !== undefined) {
        if (spec.target === "index" || spec.target === "index-descriptor") {
          throw new UserError(`invalid --annotation ${JSON.stringify(text)}: an index has no platform`, {
            hint: "only manifest[PLATFORM]: and manifest-descriptor[PLATFORM]: take one",
          });
        }
        spec.platform = parsePlatform(m[2]);
      }
      out.push(spec);
    }
  }
  return out;
}
