/**
 * The values a client and a node exchange, and their checks: each side reads what the other sent as
 * another machine's input (a node may be compromised; a client's paths are never trusted to stay inside
 * the directory they are laid out in).
 */
import { UserError } from "../../errors/user-error.ts";
import type { Descriptor } from "../../oci/descriptor.ts";
import { type Digest, isDigest } from "../../oci/digest.ts";
import { normalizePlatform, type Platform } from "../../oci/platform.ts";
import type { LocalFile, SolvedPlatform, SolvePlatform, StoredLayer } from "../../solver/types.ts";

/** A context file as shipped: what the solver needs of it, plus its content digest and times. */
export interface WireFile extends LocalFile {
  mtimeMs: number;
  /** sha256 of a regular file's bytes (the node fetches what its store lacks). */
  digest?: Digest;
  /** Index of an earlier entry this one is a hard link of. */
  link?: number;
}

export const wireError = (what: string) =>
  new UserError(`the other side of the build channel sent ${what}`, {
    hint: "install the same polyarch version on the client and every node",
  });

const isObj = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v);
const isNat = (v: unknown): v is number => typeof v === "number" && Number.isSafeInteger(v) && v >= 0;

function digestOf(v: unknown, what: string): Digest {
  if (typeof v !== "string" || !isDigest(v)) throw wireError(`a ${what} that is not a digest`);
  return v;
}

function platformOf(v: unknown): Platform {
  if (!isObj(v) || typeof v.os !== "string" || typeof v.architecture !== "string")
    throw wireError("a platform that is not one");
  return normalizePlatform({
    os: v.os,
    architecture: v.architecture,
    ...(typeof v.variant === "string" ? { variant: v.variant } : {}),
  });
}

/** A relative slash path with no empty, `.` or `..` part: safe to lay out under a fresh root. */
export function safeRelativePath(p: unknown): string {
  if (typeof p !== "string" || p === "" || p.length > 4096 || p.includes("\0")) throw wireError("a bad path");
  if (p.startsWith("/") || p.split("/").some((s) => s === "" || s === "." || s === ".."))
    throw wireError(`a path that leaves its root (${JSON.stringify(p.slice(0, 100))})`);
  return p;
}

export function parseWireFiles(v: unknown): WireFile[] {
  if (!Array.isArray(v) || v.length > 5_000_000) throw wireError("no file list");
  const types = new Set(["file", "dir", "symlink", "other"]);
  return v.map((f, i): WireFile => {
    if (!isObj(f)) throw wireError("a file that is not an object");
    if (typeof f.type !== "string" || !types.has(f.type)) throw wireError("a file of no known type");
    for (const k of ["mode", "uid", "gid", "size"]) if (!isNat(f[k])) throw wireError(`a file without ${k}`);
    if (typeof f.mtimeMs !== "number" || !Number.isFinite(f.mtimeMs)) throw wireError("a file without mtime");
    const out: WireFile = {
      path: safeRelativePath(f.path),
      type: f.type as WireFile["type"],
      mode: f.mode as number,
      uid: f.uid as number,
      gid: f.gid as number,
      size: f.size as number,
      mtimeMs: f.mtimeMs,
    };
    if (f.type === "symlink") {
      if (typeof f.linkTarget !== "string" || f.linkTarget.length > 4096 || f.linkTarget.includes("\0"))
        throw wireError("a symlink without its target");
      out.linkTarget = f.linkTarget;
    }
    if (f.type === "file") out.digest = digestOf(f.digest, "file digest");
    if (f.link !== undefined) {
      if (!isNat(f.link) || f.link >= i || f.type !== "file")
        throw wireError("a hard link to nothing before it");
      out.link = f.link;
    }
    return out;
  });
}

function descriptorOf(v: unknown): Descriptor {
  if (!isObj(v) || typeof v.mediaType !== "string" || !isNat(v.size))
    throw wireError("a layer that is not one");
  return {
    mediaType: v.mediaType,
    digest: digestOf(v.digest, "layer digest"),
    size: v.size,
    ...(isObj(v.annotations) ? { annotations: v.annotations as Record<string, string> } : {}),
  } as Descriptor;
}

function storedLayer(v: unknown): StoredLayer {
  if (!isObj(v)) throw wireError("a layer that is not one");
  return { descriptor: descriptorOf(v.descriptor), diffId: digestOf(v.diffId, "diff_id") };
}

/** A node's result for one platform: the layers it made (and its base's), checked field by field. */
export function parseSolvedPlatform(v: unknown): SolvedPlatform {
  if (!isObj(v) || !Array.isArray(v.baseLayers) || !Array.isArray(v.layers))
    throw wireError("a result that is not one");
  return {
    platform: platformOf(v.platform),
    baseLayers: v.baseLayers.map(storedLayer),
    layers: v.layers.map((l) => {
      if (!isObj(l)) throw wireError("a layer that is not one");
      if (l.created !== undefined && typeof l.created !== "string") throw wireError("a bad created time");
      return {
        layer: l.layer === null ? null : storedLayer(l.layer),
        created: l.created as string | undefined,
      };
    }),
  };
}

/** The platforms a client asks a node to build, checked against the graph's vertices. */
export function parseSolvePlatforms(v: unknown, has: (d: Digest) => boolean): SolvePlatform[] {
  if (!Array.isArray(v) || v.length === 0 || v.length > 64) throw wireError("no platforms");
  return v.map((p): SolvePlatform => {
    if (!isObj(p) || !Array.isArray(p.layerVertices)) throw wireError("a platform request that is not one");
    const vertex = (x: unknown) => {
      const d = digestOf(x, "vertex");
      if (!has(d)) throw wireError("a vertex the graph does not have");
      return d;
    };
    let baseImage: SolvePlatform["baseImage"];
    if (p.baseImage !== undefined && p.baseImage !== null) {
      if (!isObj(p.baseImage) || typeof p.baseImage.ref !== "string") throw wireError("a bad base image");
      baseImage = {
        ref: p.baseImage.ref,
        digest:
          p.baseImage.digest === undefined ? undefined : digestOf(p.baseImage.digest, "base image digest"),
      };
    }
    return {
      platform: platformOf(p.platform),
      output: vertex(p.output),
      layerVertices: p.layerVertices.map(vertex),
      baseVertex: vertex(p.baseVertex),
      baseImage,
    };
  });
}
