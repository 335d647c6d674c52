import { execFile } from "node:child_process";
import { access, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import { UserError } from "../../errors/user-error.ts";
import { hostPlatform, type Platform } from "../../oci/platform.ts";
import { binfmtMiscDir, readBinfmtState } from "./binfmt-proc.ts";
import { type BinfmtDefinition, definitionDirs, installedQemuDefinitions } from "./definitions.ts";
import { decodeBinfmtBytes, elfIdentFromMagic, platformsForElf } from "./elf-platform.ts";
import { qemuNameFromInput } from "./names.ts";
import { detectEmulation, findRunnable } from "./runnable.ts";
import { isStaticElf } from "./static-elf.ts";

const execFileAsync = promisify(execFile);

export interface InstallResult {
  /** QEMU machine name, e.g. aarch64. */
  name: string;
  platforms: Platform[];
  handler: string;
  interpreter: string;
  status: "registered" | "already-registered" | "native";
}

export interface InstallOptions {
  binfmtDir?: string;
  definitions?: typeof definitionDirs;
  host?: Platform;
  /** Skip the root check (tests that point binfmtDir at a scratch directory). */
  assumeRoot?: boolean;
}

async function exists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch {
    return false;
  }
}

/** Mounts binfmt_misc when it is not (containers and minimal hosts often lack it). */
export async function ensureBinfmtMounted(dir = binfmtMiscDir): Promise<void> {
  if (await exists(join(dir, "register"))) return;
  try {
    await execFileAsync("mount", ["-t", "binfmt_misc", "binfmt_misc", dir]);
  } catch (e) {
    const detail = String((e as { stderr?: string }).stderr ?? e).trim();
    throw new UserError(`cannot mount binfmt_misc on ${dir}: ${detail}`, {
      hint: "run as root on a kernel with binfmt_misc (modprobe binfmt_misc), or outside a restricted container",
    });
  }
}

function platformsOf(def: BinfmtDefinition): Platform[] {
  const ident = elfIdentFromMagic(decodeBinfmtBytes(def.magic), def.offset);
  return ident ? platformsForElf(ident) : [];
}

/** The interpreter to register: the definition's own when static, else QEMU's -static build beside it. */
async function staticInterpreter(name: string, def: BinfmtDefinition): Promise<string> {
  for (const candidate of [def.interpreter, `/usr/bin/qemu-${name}-static`]) {
    if ((await exists(candidate)) && (await isStaticElf(candidate))) return candidate;
  }
  throw new UserError(`the emulator for ${name} (${def.interpreter}) is not a static binary`, {
    hint: "install Debian's qemu-user-static (apt-get install qemu-user-static): containers cannot load a dynamic emulator's libraries",
  });
}

/** `F` makes the kernel open the emulator now, so it works in every container whatever its rootfs holds. */
export function registerLine(def: BinfmtDefinition, interpreter: string): string {
  const flags = [...new Set(`${def.flags}F`.split(""))].filter((f) => "POCF".includes(f)).join("");
  return `:${def.name}:M:${def.offset || ""}:${def.magic}:${def.mask}:${interpreter}:${flags}`;
}

/**
 * Registers the installed QEMU emulators for `wanted` ("all" or names such as arm64, arm, riscv64) with
 * the F flag, mounting binfmt_misc first when needed. Handlers that already serve containers are kept.
 */
export async function installEmulators(
  wanted: "all" | readonly string[],
  options: InstallOptions = {},
): Promise<InstallResult[]> {
  const dir = options.binfmtDir ?? binfmtMiscDir;
  if (!options.assumeRoot && process.getuid?.() !== 0) {
    throw new UserError("registering binfmt_misc handlers needs root", {
      hint: `run it as root: sudo polyarch binfmt --install ${wanted === "all" ? "all" : wanted.join(",")}`,
    });
  }
  const defs = await installedQemuDefinitions(options.definitions ?? definitionDirs);
  const names = wanted === "all" ? [...defs.keys()] : [...new Set(wanted.map(qemuNameFromInput))];
  if (wanted === "all" && names.length === 0) {
    throw new UserError("no QEMU emulators are installed", {
      hint: "install Debian's qemu-user-static (apt-get install qemu-user-static)",
    });
  }
  await ensureBinfmtMounted(dir);
  const detectOptions = { binfmtDir: dir, host: options.host ?? hostPlatform() };
  let report = await detectEmulation(detectOptions);
  const results: InstallResult[] = [];
  for (const name of names) {
    const def = defs.get(name);
    if (!def) {
      const native = report.runnable.find(
        (r) => r.native && qemuNameFromInput(r.platform.architecture) === name,
      );
      if (native) {
        results.push({ name, platforms: [native.platform], handler: "", interpreter: "", status: "native" });
        continue;
      }
      throw new UserError(`no QEMU emulator for ${name} is installed`, {
        hint: `install Debian's qemu-user-static (apt-get install qemu-user-static); looked in ${definitionDirs.binfmtD} and ${definitionDirs.binfmts}`,
      });
    }
    const platforms = platformsOf(def);
    const serving = platforms.map((p) => findRunnable(report, p));
    if (serving.every((r) => r?.native)) {
      results.push({ name, platforms, handler: "", interpreter: "", status: "native" });
      continue;
    }
    const existing = report.binfmt.entries.find((e) => e.name === def.name);
    if (serving.every((r) => r !== undefined)) {
      const by = serving.find((r) => !r!.native)!;
      results.push({
        name,
        platforms,
        handler: by.handler!,
        interpreter: by.emulator!,
        status: "already-registered",
      });
      continue;
    }
    const interpreter = await staticInterpreter(name, def);
    // An entry of that name without F (or disabled) must go before the kernel accepts the new one.
    if (existing) await writeFile(join(dir, def.name), "-1");
    try {
      await writeFile(join(dir, "register"), registerLine(def, interpreter));
    } catch (e) {
      throw new UserError(`cannot register ${def.name}: ${(e as Error).message}`, {
        hint: "registering needs root and a writable binfmt_misc (not a read-only /proc in a container)",
      });
    }
    results.push({ name, platforms, handler: def.name, interpreter, status: "registered" });
    report = await detectEmulation(detectOptions);
  }
  return results;
}

/** Removes handlers by name (qemu-aarch64) as `--uninstall` does; unknown names are ignored. */
export async function uninstallEmulators(
  handlers: readonly string[],
  dir = binfmtMiscDir,
): Promise<string[]> {
  const state = await readBinfmtState(dir);
  const removed: string[] = [];
  for (const h of handlers) {
    const name = h.startsWith("qemu-") ? h : `qemu-${qemuNameFromInput(h)}`;
    if (!state.entries.some((e) => e.name === name)) continue;
    await writeFile(join(dir, name), "-1");
    removed.push(name);
  }
  return removed;
}
