/**
 * The build's attestations as type=local and type=tar write them, as BuildKit's local and tar exporters do:
 * each in-toto statement is a file beside the platform's files (`provenance.json`, `sbom.spdx.json`,
 * `sbom-context.spdx.json` for a scan of the build context; with
 * several platforms merged by platform-split=false, `provenance.linux_arm64.json`), mode 0600, and its
 * subjects are the platform's regular files (path relative to the platform's directory, sha256 of the
 * content), in walk order. Links are not subjects and are never followed.
 *
 * The files are written as tar entries, after the tree: type=tar streams them, type=local hands them to the
 * same in-root, no-follow applier as the tree, so a `provenance.json` link the image (or the user) left
 * there is replaced, never written through.
 */
import { createHash } from "node:crypto";
import { pipeline } from "node:stream/promises";
import { type Attestation, type InTotoStatement, statementFileBytes } from "../../attest/index.ts";
import type { Timestamp } from "../../oci/layer/entry.ts";
import type { LayerTarItem } from "../../oci/layer/tar-writer.ts";
import { rootfsTarItems } from "./rootfs-walk.ts";

/** One platform's statements and the tree they are about. */
export interface PlatformAttestations {
  /** The platform's subdirectory ("" for the output's root). */
  sub: string;
  /** The tree whose files are the subjects. */
  root: string;
  /** `linux_arm64` when several platforms share `sub` (platform-split=false). */
  suffix: string | undefined;
  statements: readonly Attestation[];
}

const baseNames: Record<Attestation["kind"], [string, string]> = {
  provenance: ["provenance", ".json"],
  sbom: ["sbom.spdx", ".json"],
};

export function attestationFileName(
  kind: Attestation["kind"],
  suffix: string | undefined,
  scan?: string,
): string {
  const [base, ext] = baseNames[kind];
  // Another scan's document is named for it (`sbom-context.spdx.json`), as BuildKit's scanner names them.
  const stem = scan === undefined ? base : `${scan}${base.slice(base.indexOf("."))}`;
  return suffix === undefined ? `${stem}${ext}` : `${stem}.${suffix}${ext}`;
}

/** The regular files of a tree with their digests, as in-toto subjects. */
async function subjectsOf(root: string): Promise<InTotoStatement["subject"]> {
  const out: InTotoStatement["subject"] = [];
  for await (const item of rootfsTarItems(root, "", { skipWhiteouts: true })) {
    if (item.entry.type !== "file" || !item.open) continue;
    const hash = createHash("sha256");
    await pipeline(item.open(), hash);
    out.push({ name: item.entry.path, digest: { sha256: hash.digest("hex") } });
  }
  return out;
}

/**
 * The statement files of every platform as tar items (computed now: the trees may be moved or released
 * once written).
 */
export async function attestationItems(
  platforms: readonly PlatformAttestations[],
  mtime: Timestamp,
): Promise<LayerTarItem[]> {
  const items: LayerTarItem[] = [];
  for (const p of platforms) {
    if (p.statements.length === 0) continue;
    const subject = await subjectsOf(p.root);
    for (const statement of p.statements) {
      const bytes = statementFileBytes(statement, subject);
      const name = attestationFileName(statement.kind, p.suffix, statement.scan);
      items.push({
        entry: {
          path: p.sub === "" ? name : `${p.sub}/${name}`,
          type: "file",
          mode: 0o600,
          uid: 0,
          gid: 0,
          mtime,
          size: bytes.length,
        },
        open: async function* () {
          yield bytes;
        },
      });
    }
  }
  // In tar order (each directory's names by bytes): `sbom-context.spdx.json` before `sbom.spdx.json`.
  return items.sort((a, b) => byComponents(a.entry.path, b.entry.path));
}

function byComponents(a: string, b: string): number {
  const [x, y] = [a.split("/"), b.split("/")];
  for (let i = 0; i < Math.min(x.length, y.length); i++) {
    const c = Buffer.compare(Buffer.from(x[i]!), Buffer.from(y[i]!));
    if (c !== 0) return c;
  }
  return x.length - y.length;
}
