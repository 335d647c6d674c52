/**
 * A context file's extended attributes, as fsutil sends them in Stat.xattrs (e.g. security.capability of a
 * binary COPY keeps). Read with the l*xattr calls of @napi-rs/xattr, so a symlink's own attributes are read,
 * never its target's. The native binding loads on the first context that is sent.
 */
import { createRequire } from "node:module";

type Binding = typeof import("@napi-rs/xattr");
let loaded: Binding | undefined;

const ENOTSUP = 95;
const ENODATA = 61;

function errno(err: unknown): number | undefined {
  const m = /\(os error (\d+)\)/.exec(err instanceof Error ? err.message : String(err));
  return m ? Number(m[1]) : undefined;
}

// overlayfs bookkeeping and the host's SELinux label are the machine's, not the file's (BuildKit's COPY
// would drop them too).
const skipped = (name: string) =>
  name.startsWith("trusted.overlay.") || name.startsWith("user.overlay.") || name === "security.selinux";

export function contextXattrs(path: string): Record<string, Buffer> {
  loaded ??= createRequire(import.meta.url)("@napi-rs/xattr") as Binding;
  let names: string[];
  try {
    names = loaded.listAttributesSync(path);
  } catch (err) {
    if (errno(err) === ENOTSUP) return {};
    throw err;
  }
  const out: Record<string, Buffer> = {};
  for (const name of names.filter((n) => !skipped(n)).sort()) {
    try {
      const value = loaded.getAttributeSync(path, name);
      if (value !== null) out[name] = Buffer.from(value);
    } catch (err) {
      if (errno(err) !== ENODATA) throw err;
    }
  }
  return out;
}
