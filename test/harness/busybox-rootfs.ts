import {
  chmod,
  chown,
  copyFile,
  mkdir,
  mkdtemp,
  readdir,
  rm,
  stat,
  symlink,
  writeFile,
} from "node:fs/promises";
import { join } from "node:path";
import { formatPlatform, normalizePlatform, type Platform } from "../../src/oci/platform.ts";
import { cacheSubdir, publish, scratchPathFor } from "./cache.ts";
import { run, runOk } from "./exec.ts";

/**
 * A tiny but real rootfs per platform, made from Debian's statically linked busybox. The machines reach no
 * image registry, so this is the base every integration test builds FROM.
 */

/** Debian's name for each platform the fixtures support. */
const debianArch: Record<string, string> = {
  "linux/amd64": "amd64",
  "linux/arm64": "arm64",
  "linux/arm/v7": "armhf",
};

export const busyboxPlatforms: readonly Platform[] = [
  { os: "linux", architecture: "amd64" },
  { os: "linux", architecture: "arm64" },
  { os: "linux", architecture: "arm", variant: "v7" },
];

/** Applets linked into /bin: what Dockerfiles in the tests and examples call, plus common shell tools. */
export const busyboxApplets: readonly string[] = [
  "[",
  "[[",
  "ash",
  "awk",
  "basename",
  "cat",
  "chgrp",
  "chmod",
  "chown",
  "cmp",
  "cp",
  "cut",
  "date",
  "dd",
  "df",
  "diff",
  "dirname",
  "du",
  "echo",
  "egrep",
  "env",
  "expr",
  "false",
  "fgrep",
  "find",
  "grep",
  "groups",
  "gunzip",
  "gzip",
  "head",
  "hostname",
  "id",
  "kill",
  "ln",
  "ls",
  "md5sum",
  "mkdir",
  "mktemp",
  "mv",
  "nproc",
  "printf",
  "ps",
  "pwd",
  "readlink",
  "realpath",
  "rm",
  "rmdir",
  "sed",
  "seq",
  "sh",
  "sha256sum",
  "sleep",
  "sort",
  "stat",
  "sync",
  "tail",
  "tar",
  "tee",
  "test",
  "timeout",
  "touch",
  "tr",
  "true",
  "uname",
  "uniq",
  "wc",
  "which",
  "whoami",
  "xargs",
  "yes",
  "zcat",
];

const passwd = [
  "root:x:0:0:root:/root:/bin/sh",
  "app:x:1000:1000:app:/home/app:/bin/sh",
  "nobody:x:65534:65534:nobody:/nonexistent:/bin/false",
  "",
].join("\n");

const group = ["root:x:0:", "app:x:1000:", "nogroup:x:65534:", ""].join("\n");

/** Owners that differ from root:root inside the rootfs (the tar writer applies them; disk may differ). */
export const busyboxOwners: Readonly<Record<string, { uid: number; gid: number }>> = {
  "home/app": { uid: 1000, gid: 1000 },
};

export function debianArchOf(platform: Platform): string {
  const key = formatPlatform(platform);
  const arch = debianArch[key];
  if (!arch) {
    throw new Error(
      `busybox fixture: no Debian busybox-static for ${key}; supported: ${Object.keys(debianArch).join(", ")}`,
    );
  }
  return arch;
}

const inProcess = new Map<string, Promise<string>>();

/**
 * Path of the cached static busybox binary for `platform`, downloading and unpacking Debian's
 * busybox-static .deb the first time. Safe to call from many tests and processes at once.
 */
export function busyboxBinary(platform: Platform): Promise<string> {
  const arch = debianArchOf(platform);
  let p = inProcess.get(arch);
  if (!p) {
    p = fetchBusybox(arch);
    inProcess.set(arch, p);
    p.catch(() => inProcess.delete(arch));
  }
  return p;
}

async function fetchBusybox(arch: string): Promise<string> {
  const dir = await cacheSubdir("busybox-static", arch);
  const binary = join(dir, "busybox");
  if (await exists(binary)) return binary;

  const work = scratchPathFor(join(dir, "download"));
  await mkdir(work, { recursive: true });
  try {
    // APT's download sandbox user cannot write into a root-only temp dir; as root it would only warn.
    await chmod(work, 0o755);
    const got = await run("apt-get", ["download", `busybox-static:${arch}`], { cwd: work });
    if (got.code !== 0) {
      throw new Error(
        `apt-get download busybox-static:${arch} failed (exit ${got.code}): ${got.stderr.trim()}\n` +
          `Run scripts/setup once: it adds the ${arch} architecture to dpkg and runs apt-get update.`,
      );
    }
    const deb = (await readdir(work)).find((n) => n.endsWith(".deb"));
    if (!deb) throw new Error(`apt-get download busybox-static:${arch} produced no .deb in ${work}`);
    const unpacked = join(work, "root");
    await runOk("dpkg-deb", ["-x", join(work, deb), unpacked]);
    const staged = scratchPathFor(binary);
    await copyFile(join(unpacked, "bin", "busybox"), staged);
    await chmod(staged, 0o755);
    await publish(join(work, deb), join(dir, deb));
    await publish(staged, binary);
    return binary;
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}

/**
 * Fills `dir` (created if missing, expected empty) with a busybox rootfs for `platform`: /bin/busybox and
 * applet symlinks, /etc/passwd and /etc/group (root, app uid 1000, nobody), /tmp (1777), /root, /home/app
 * and empty /proc /dev /sys mount points.
 */
export async function busyboxRootfs(platform: Platform, dir: string): Promise<void> {
  const binary = await busyboxBinary(normalizePlatform(platform));
  for (const d of ["bin", "sbin", "usr/bin", "usr/sbin", "etc", "root", "home/app", "proc", "dev", "sys"]) {
    await mkdir(join(dir, d), { recursive: true });
  }
  await mkdir(join(dir, "tmp"), { recursive: true });
  await chmod(join(dir, "tmp"), 0o1777);
  await chmod(join(dir, "root"), 0o700);
  await copyFile(binary, join(dir, "bin", "busybox"));
  await chmod(join(dir, "bin", "busybox"), 0o755);
  for (const applet of busyboxApplets) await symlink("busybox", join(dir, "bin", applet));
  // `#!/usr/bin/env sh` scripts are common enough to deserve the second path.
  await symlink("../../bin/busybox", join(dir, "usr", "bin", "env"));
  await writeFile(join(dir, "etc", "passwd"), passwd, { mode: 0o644 });
  await writeFile(join(dir, "etc", "group"), group, { mode: 0o644 });
  if (process.getuid?.() === 0) {
    for (const [path, owner] of Object.entries(busyboxOwners))
      await chown(join(dir, path), owner.uid, owner.gid);
  }
}

/** A temp dir holding a fresh busybox rootfs; the caller removes it. */
export async function tempBusyboxRootfs(platform: Platform, parent: string): Promise<string> {
  const dir = await mkdtemp(join(parent, "busybox-rootfs-"));
  await busyboxRootfs(platform, dir);
  return dir;
}
