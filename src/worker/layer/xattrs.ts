/**
 * Extended attributes of paths, never following a final symlink (the binding uses the l*xattr calls).
 * Node has no xattr API; @napi-rs/xattr ships prebuilt binaries, so installing needs no compiler.
 *
 * The binding is loaded on first use through createRequire: commands that never touch a layer do not
 * pay for loading a native module, and bundlers leave the native .node file alone.
 */
import { createRequire } from "node:module";

type Binding = typeof import("@napi-rs/xattr");
let loaded: Binding | undefined;

function binding(): Binding {
  loaded ??= createRequire(import.meta.url)("@napi-rs/xattr") as Binding;
  return loaded;
}

/** overlayfs's own bookkeeping (opaque, redirect, origin, metacopy…), never part of an image. */
export function isOverlayPrivate(name: string): boolean {
  return name.startsWith("trusted.overlay.") || name.startsWith("user.overlay.");
}

/**
 * Attributes a layer keeps. security.selinux is left out: it is the build host's label, which the
 * container's host relabels anyway (Docker and BuildKit do not carry it either).
 */
export function isLayerXattr(name: string): boolean {
  return !isOverlayPrivate(name) && name !== "security.selinux";
}

/** errno of a failed binding call; its messages end in "(os error N)". */
export function xattrErrno(err: unknown): number | undefined {
  const m = /\(os error (\d+)\)/.exec(err instanceof Error ? err.message : String(err));
  return m ? Number(m[1]) : undefined;
}

const ENOTSUP = 95;
const ENODATA = 61;

/** All attributes of a path, sorted by name; empty where the file system has none or does not support them. */
export function readXattrs(
  path: string,
  keep: (name: string) => boolean = isLayerXattr,
): Map<string, Buffer> {
  let names: string[];
  try {
    names = binding().listAttributesSync(path);
  } catch (err) {
    if (xattrErrno(err) === ENOTSUP) return new Map();
    throw new Error(`listing extended attributes of ${path}: ${(err as Error).message}`);
  }
  const out = new Map<string, Buffer>();
  for (const name of names.filter(keep).sort()) {
    const value = binding().getAttributeSync(path, name);
    if (value !== null) out.set(name, value);
  }
  return out;
}

export function readXattr(path: string, name: string): Buffer | null {
  try {
    return binding().getAttributeSync(path, name);
  } catch (err) {
    const errno = xattrErrno(err);
    if (errno === ENOTSUP || errno === ENODATA) return null;
    throw err;
  }
}

export function writeXattr(path: string, name: string, value: Uint8Array): void {
  binding().setAttributeSync(path, name, value);
}
