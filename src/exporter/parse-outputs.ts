/**
 * `-o/--output`, `-t` and `--push` as buildx reads them: `-o type=oci,dest=out.tar`, a bare `-o DIR`
 * (type=local) or `-o -` (type=tar to stdout), `type=registry` (= image with push=true), `--push` turning the
 * image output into a push (or adding one), and tags naming every image-producing output that has no name.
 * Every mistake is one line that says what to write instead.
 */
import { UserError } from "../errors/user-error.ts";
import type { LayerCompression } from "../oci/media-types.ts";
import { parseReference } from "../registry/reference.ts";
import { isAnnotationKey, parseAnnotation } from "./annotations.ts";
import { splitCsvFields } from "./csv-fields.ts";
import type { AnnotationSpec, ImageOptions, OutputSpec } from "./output-spec.ts";

export interface OutputFlags {
  output: string[];
  tags: string[];
  push: boolean;
  load?: boolean;
}

const imageKeys = [
  "name",
  "oci-mediatypes",
  "compression",
  "compression-level",
  "force-compression",
  "rewrite-timestamp",
  "source-date-epoch",
  "name-canonical",
  "annotation.KEY (and annotation-index., annotation-manifest., …-descriptor.)",
];
const supportedKeys: Record<string, string[]> = {
  image: [
    ...imageKeys,
    "push",
    "push-by-digest",
    "registry.insecure",
    "store",
    "unpack=false",
    "dangling-name-prefix",
  ],
  oci: ["dest", "tar", ...imageKeys],
  docker: ["dest", ...imageKeys],
  local: ["dest", "platform-split"],
  tar: ["dest", "platform-split"],
};
const supportedTypes = "image, registry, oci, docker, local, tar, cacheonly";

interface RawOutput {
  type: string;
  attrs: Map<string, string>;
  annotations: AnnotationSpec[];
  text: string;
}

export function parseOutputs(flags: OutputFlags): OutputSpec[] {
  for (const tag of flags.tags) checkName(tag, `-t ${tag}`);
  const raws = flags.output.filter((o) => o.trim() !== "").map(parseOne);
  const kept = raws.filter((r) => r.type !== "cacheonly");
  if (flags.push) {
    const images = kept.filter((r) => r.type === "image");
    if (kept.length === 0) {
      kept.push({ type: "image", attrs: new Map([["push", "true"]]), annotations: [], text: "--push" });
    } else if (images.length === 0) {
      throw new UserError(`--push and -o type=${kept[0]!.type} cannot be used together`, {
        hint: "drop --push, or push with -o type=registry,name=REF beside the other output",
      });
    } else {
      for (const r of images) r.attrs.set("push", "true");
    }
  }
  // buildx: --load is -o type=docker without dest (into the daemon), and may go with --push.
  if (flags.load) kept.push({ type: "docker", attrs: new Map(), annotations: [], text: "--load" });
  if (kept.length === 0 && raws.length === 0 && flags.tags.length > 0) {
    // A tagged build without outputs is kept in polyarch's image store under its tags (polyarch images).
    kept.push({ type: "image", attrs: new Map(), annotations: [], text: "-t" });
  }
  if (flags.tags.length > 0) {
    for (const r of kept) {
      if ((r.type === "image" || r.type === "oci" || r.type === "docker") && !r.attrs.has("name")) {
        r.attrs.set("name", flags.tags.join(","));
      }
    }
  }
  return kept.map(toSpec);
}

function parseOne(text: string): RawOutput {
  const where = `-o ${JSON.stringify(text)}`;
  const fields = splitCsvFields(text, "-o");
  if (fields.length === 1 && !text.startsWith("type=") && !text.includes("=")) {
    return text === "-"
      ? { type: "tar", attrs: new Map([["dest", "-"]]), annotations: [], text }
      : { type: "local", attrs: new Map([["dest", text]]), annotations: [], text };
  }
  const attrs = new Map<string, string>();
  const annotations: AnnotationSpec[] = [];
  let type: string | undefined;
  for (const field of fields) {
    if (field.trim() === "") continue;
    const eq = field.indexOf("=");
    if (eq < 0) {
      throw new UserError(`${where}: field ${JSON.stringify(field)} is not KEY=VALUE`, {
        hint: "write -o type=oci,dest=out.tar; a bare -o DIR is type=local,dest=DIR",
      });
    }
    const rawKey = field.slice(0, eq).trim();
    const value = field.slice(eq + 1);
    if (isAnnotationKey(rawKey)) {
      annotations.push(parseAnnotation(rawKey, value, where));
      continue;
    }
    const key = rawKey.toLowerCase();
    if (key === "type") type = value.trim().toLowerCase();
    else attrs.set(key, value);
  }
  if (type === undefined || type === "") {
    throw new UserError(`${where}: no type= given`, {
      hint: `start with type=, one of ${supportedTypes}, e.g. -o type=oci,dest=out.tar`,
    });
  }
  if (type === "registry") {
    type = "image";
    if (!attrs.has("push")) attrs.set("push", "true");
  }
  if (!(type in supportedKeys) && type !== "cacheonly") {
    throw new UserError(`${where}: unknown output type ${JSON.stringify(type)}`, {
      hint: `supported types: ${supportedTypes}`,
    });
  }
  if (annotations.length && (type === "local" || type === "tar")) {
    throw new UserError(`${where}: type=${type} writes files, not an image, so it takes no annotations`, {
      hint: "put annotation.KEY=VAL on an image, registry, oci or docker output",
    });
  }
  return { type, attrs, annotations, text };
}

function toSpec(raw: RawOutput): OutputSpec {
  const where =
    raw.text === "--push" || raw.text === "-t" || raw.text === "--load"
      ? raw.text
      : `-o ${JSON.stringify(raw.text)}`;
  const reader = new AttrReader(raw, where);
  switch (raw.type) {
    case "image": {
      const image = readImageOptions(reader, raw, true);
      const push = reader.bool("push", false);
      const pushByDigest = reader.bool("push-by-digest", false);
      const insecure = reader.bool("registry.insecure", false);
      const store = reader.bool("store", true);
      if (reader.bool("unpack", false)) {
        throw new UserError(
          `${where}: unpack=true unpacks into a container runtime's store; polyarch has none`,
          {
            hint: "to get the image's files, add -o type=local,dest=DIR",
          },
        );
      }
      const danglingPrefix = reader.string("dangling-name-prefix");
      reader.finish();
      if (push && image.names.length === 0) {
        throw new UserError(`${where}: pushing needs an image name`, {
          hint: "add -t REGISTRY/REPO:TAG, or name=REGISTRY/REPO:TAG in the -o value",
        });
      }
      const out: OutputSpec = { type: "image", image, push, pushByDigest, insecure, store };
      if (danglingPrefix) out.danglingPrefix = danglingPrefix;
      return out;
    }
    case "oci":
    case "docker": {
      const image = readImageOptions(reader, raw, raw.type === "oci");
      const dest = reader.string("dest");
      const tar = raw.type === "oci" ? reader.bool("tar", true) : true;
      reader.finish();
      if (dest === undefined || dest === "") {
        if (raw.type === "docker") return { type: "load", image, allowPodman: raw.text === "--load" };
        throw new UserError(`${where}: type=oci needs dest=`, {
          hint: "write dest=out.tar for an archive, dest=DIR,tar=false for a layout directory, or dest=- for stdout",
        });
      }
      if (!tar && dest === "-") {
        throw new UserError(`${where}: tar=false writes a directory, which cannot go to stdout`, {
          hint: "give dest=DIR with tar=false, or drop tar=false to stream an archive",
        });
      }
      return { type: raw.type, image, dest, tar };
    }
    default: {
      const type = raw.type as "local" | "tar";
      const dest = reader.string("dest");
      const platformSplit = reader.bool("platform-split", true);
      reader.finish();
      if (dest === undefined || dest === "") {
        throw new UserError(`${where}: type=${type} needs dest=`, {
          hint:
            type === "local"
              ? "write -o type=local,dest=DIR"
              : "write -o type=tar,dest=rootfs.tar (or dest=- for stdout)",
        });
      }
      if (type === "local" && dest === "-") {
        throw new UserError(`${where}: type=local writes a directory, which cannot go to stdout`, {
          hint: "use -o type=tar,dest=- to stream the files as a tar",
        });
      }
      return { type, dest, platformSplit };
    }
  }
}

function readImageOptions(reader: AttrReader, raw: RawOutput, ociDefault: boolean): ImageOptions {
  const names = (reader.string("name") ?? "")
    .split(",")
    .map((n) => n.trim())
    .filter((n) => n !== "");
  for (const n of names) checkName(n, reader.where);
  const explicit = reader.has("oci-mediatypes");
  const image: ImageOptions = {
    names,
    ociMediaTypes: reader.bool("oci-mediatypes", ociDefault),
    ociMediaTypesExplicit: explicit,
    forceCompression: reader.bool("force-compression", false),
    rewriteTimestamp: reader.bool("rewrite-timestamp", false),
    nameCanonical: reader.bool("name-canonical", false),
    annotations: raw.annotations,
  };
  const compression = reader.string("compression");
  if (compression !== undefined) image.compression = parseCompression(compression, reader.where);
  const level = reader.integer("compression-level");
  if (level !== undefined) {
    const max = image.compression === "zstd" ? 22 : 9;
    if (image.compression === "none" || level < 0 || level > max) {
      throw new UserError(`${reader.where}: compression-level=${level} is out of range`, {
        hint: "gzip takes 0-9, zstd 0-22; uncompressed takes none",
      });
    }
    image.compressionLevel = level;
  }
  const epoch = reader.integer("source-date-epoch");
  if (epoch !== undefined) image.sourceDateEpoch = epoch;
  if (image.compression === "zstd" && !image.ociMediaTypes) {
    if (explicit) {
      throw new UserError(`${reader.where}: zstd layers need OCI media types, but oci-mediatypes=false`, {
        hint: "drop oci-mediatypes=false, or use compression=gzip",
      });
    }
    image.ociMediaTypes = true; // as BuildKit does: zstd turns OCI media types on
  }
  return image;
}

function parseCompression(value: string, where: string): LayerCompression {
  switch (value.trim().toLowerCase()) {
    case "gzip":
      return "gzip";
    case "zstd":
      return "zstd";
    case "uncompressed":
      return "none";
    case "estargz":
      throw new UserError(`${where}: compression=estargz is not supported yet`, {
        hint: "use compression=gzip (default), zstd or uncompressed",
      });
    default:
      throw new UserError(`${where}: unknown compression ${JSON.stringify(value)}`, {
        hint: "use compression=gzip (default), zstd or uncompressed",
      });
  }
}

function checkName(name: string, where: string): void {
  try {
    parseReference(name);
  } catch (e) {
    if (e instanceof UserError) throw new UserError(`${where}: ${e.message}`, { hint: e.hint });
    throw e;
  }
}

/** Reads typed attributes, and at the end refuses any it did not read, listing what the type accepts. */
class AttrReader {
  readonly #raw: RawOutput;
  readonly where: string;
  readonly #used = new Set<string>();

  constructor(raw: RawOutput, where: string) {
    this.#raw = raw;
    this.where = where;
  }

  has(key: string): boolean {
    return this.#raw.attrs.has(key);
  }

  string(key: string): string | undefined {
    this.#used.add(key);
    return this.#raw.attrs.get(key);
  }

  /** Go's strconv.ParseBool spellings; an empty value means true, as BuildKit reads `key=`. */
  bool(key: string, fallback: boolean): boolean {
    const v = this.string(key);
    if (v === undefined) return fallback;
    const t = v.trim();
    if (t === "" || ["1", "t", "T", "true", "TRUE", "True"].includes(t)) return true;
    if (["0", "f", "F", "false", "FALSE", "False"].includes(t)) return false;
    throw new UserError(`${this.where}: ${key}=${v} is not true or false`, {
      hint: `write ${key}=true or ${key}=false`,
    });
  }

  integer(key: string): number | undefined {
    const v = this.string(key);
    if (v === undefined) return undefined;
    const n = Number(v.trim());
    if (!/^\d+$/.test(v.trim()) || !Number.isSafeInteger(n)) {
      throw new UserError(`${this.where}: ${key}=${v} is not a whole number`, {
        hint:
          key === "source-date-epoch"
            ? "give seconds since 1970, e.g. $(git log -1 --format=%ct)"
            : `e.g. ${key}=6`,
      });
    }
    return n;
  }

  finish(): void {
    for (const key of this.#raw.attrs.keys()) {
      if (this.#used.has(key)) continue;
      throw new UserError(`${this.where}: type=${this.#raw.type} does not take ${JSON.stringify(key)}`, {
        hint: `type=${this.#raw.type} accepts: ${supportedKeys[this.#raw.type]!.join(", ")}`,
      });
    }
  }
}
