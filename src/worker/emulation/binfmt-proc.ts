import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";

export const binfmtMiscDir = "/proc/sys/fs/binfmt_misc";

/** One registered handler, as the kernel reports it in /proc/sys/fs/binfmt_misc/NAME. */
export interface BinfmtEntry {
  name: string;
  enabled: boolean;
  interpreter: string;
  /** The kernel's flag letters: F (interpreter opened at registration, so it works inside containers), P, O, C. */
  flags: string;
  offset: number;
  magic?: Uint8Array;
  mask?: Uint8Array;
  extension?: string;
}

function hexBytes(text: string): Uint8Array {
  const out = new Uint8Array(Math.floor(text.length / 2));
  for (let i = 0; i < out.length; i++) out[i] = Number.parseInt(text.slice(i * 2, i * 2 + 2), 16);
  return out;
}

/** Parses the text of one entry file. */
export function parseBinfmtEntry(name: string, text: string): BinfmtEntry {
  const entry: BinfmtEntry = { name, enabled: false, interpreter: "", flags: "", offset: 0 };
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    if (line === "enabled") entry.enabled = true;
    else if (line === "disabled") entry.enabled = false;
    else if (line.startsWith("interpreter ")) entry.interpreter = line.slice("interpreter ".length);
    else if (line.startsWith("flags:")) entry.flags = line.slice("flags:".length).trim();
    else if (line.startsWith("offset ")) entry.offset = Number(line.slice("offset ".length));
    else if (line.startsWith("magic ")) entry.magic = hexBytes(line.slice("magic ".length));
    else if (line.startsWith("mask ")) entry.mask = hexBytes(line.slice("mask ".length));
    else if (line.startsWith("extension ")) entry.extension = line.slice("extension ".length);
  }
  return entry;
}

export interface BinfmtState {
  /** binfmt_misc is mounted (its `register` file exists). */
  mounted: boolean;
  /** The global switch (/proc/sys/fs/binfmt_misc/status). */
  enabled: boolean;
  entries: BinfmtEntry[];
}

/** Reads every registered handler; an unmounted binfmt_misc gives no entries rather than an error. */
export async function readBinfmtState(dir = binfmtMiscDir): Promise<BinfmtState> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return { mounted: false, enabled: false, entries: [] };
  }
  if (!names.includes("register")) return { mounted: false, enabled: false, entries: [] };
  let enabled = true;
  try {
    enabled = (await readFile(join(dir, "status"), "utf8")).trim() === "enabled";
  } catch {
    // Some kernels hide status; treat the handlers as authoritative.
  }
  const entries: BinfmtEntry[] = [];
  for (const name of names.sort()) {
    if (name === "register" || name === "status") continue;
    try {
      entries.push(parseBinfmtEntry(name, await readFile(join(dir, name), "utf8")));
    } catch {
      // Removed between readdir and read: it is no longer registered.
    }
  }
  return { mounted: true, enabled, entries };
}
