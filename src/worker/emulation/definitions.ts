import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { decodeBinfmtBytes, elfIdentFromMagic, platformsForElf } from "./elf-platform.ts";

/**
 * A handler definition as the installed QEMU package ships it, ready to write to binfmt_misc's
 * `register` file. magic and mask keep the `\xHH` escapes the kernel expects.
 */
export interface BinfmtDefinition {
  name: string;
  offset: number;
  magic: string;
  mask: string;
  interpreter: string;
  flags: string;
  /** Where the definition was read from, for messages. */
  source: string;
}

/** systemd's binfmt.d format: `:name:type:offset:magic:mask:interpreter:flags` (only type M is useful here). */
export function parseBinfmtDConf(text: string, source: string): BinfmtDefinition | undefined {
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    if (line === "" || line.startsWith("#") || line.startsWith(";")) continue;
    const sep = line[0]!;
    const f = line.slice(1).split(sep);
    if (f.length < 7 || f[1] !== "M") continue;
    return {
      name: f[0]!,
      offset: f[2] ? Number(f[2]) : 0,
      magic: f[3]!,
      mask: f[4]!,
      interpreter: f[5]!,
      flags: f[6] ?? "",
      source,
    };
  }
  return undefined;
}

/** Debian binfmt-support's format (/usr/share/binfmts/NAME): `key value` lines. */
export function parseBinfmtsFile(name: string, text: string, source: string): BinfmtDefinition | undefined {
  const kv = new Map<string, string>();
  for (const raw of text.split("\n")) {
    const m = /^\s*(\S+)\s+(.*?)\s*$/.exec(raw);
    if (m) kv.set(m[1]!, m[2]!);
  }
  const magic = kv.get("magic");
  const interpreter = kv.get("interpreter");
  if (!magic || !interpreter) return undefined;
  let flags = "";
  if (kv.get("preserve") === "yes") flags += "P";
  if (kv.get("credentials") === "yes") flags += "C";
  if (kv.get("fix_binary") === "yes") flags += "F";
  return {
    name,
    offset: Number(kv.get("offset") ?? "0") || 0,
    magic,
    mask: kv.get("mask") ?? "",
    interpreter,
    flags,
    source,
  };
}

export const definitionDirs = { binfmtD: "/usr/lib/binfmt.d", binfmts: "/usr/share/binfmts" };

async function list(dir: string): Promise<string[]> {
  try {
    return (await readdir(dir)).sort();
  } catch {
    return [];
  }
}

/**
 * Every QEMU handler definition installed on this machine whose magic names an ELF machine OCI knows,
 * keyed by QEMU machine name (aarch64, arm…). binfmt.d files win over binfmt-support's when both exist.
 */
export async function installedQemuDefinitions(
  dirs = definitionDirs,
): Promise<Map<string, BinfmtDefinition>> {
  const found = new Map<string, BinfmtDefinition>();
  const consider = (def: BinfmtDefinition | undefined) => {
    if (!def?.name.startsWith("qemu-") || found.has(def.name.slice(5))) return;
    const ident = elfIdentFromMagic(decodeBinfmtBytes(def.magic), def.offset);
    if (!ident || platformsForElf(ident).length === 0) return;
    found.set(def.name.slice(5), def);
  };
  for (const file of await list(dirs.binfmtD)) {
    if (!file.startsWith("qemu-") || !file.endsWith(".conf")) continue;
    const path = join(dirs.binfmtD, file);
    consider(parseBinfmtDConf(await readFile(path, "utf8"), path));
  }
  for (const file of await list(dirs.binfmts)) {
    if (!file.startsWith("qemu-")) continue;
    const path = join(dirs.binfmts, file);
    consider(parseBinfmtsFile(file, await readFile(path, "utf8"), path));
  }
  return found;
}
