/**
 * Attacks are judged on the host, not on polyarch's words: before an attack, plant canaries where a
 * hostile input aims (a file under /etc, a directory under /tmp with files and an empty subdir, a file
 * on /dev/shm) and fingerprint them; after it, every canary must be byte-, mode-, owner- and
 * time-identical and nothing new may have appeared next to them.
 */
import { createHash, randomBytes } from "node:crypto";
import { lstatSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";

export interface HostCanaries {
  /** A regular file, mode 0644, in /etc: the target of chmod/chown/write-through-link attacks. */
  etcFile: string;
  /** A directory in /tmp holding `keep` (a file), `empty/` (an empty dir) and `zero` (an empty file). */
  tmpDir: string;
  /** A regular file on /dev/shm (where runtime bundles live). */
  shmFile: string;
  /** Fails (throws, naming every difference) when any canary or its neighbourhood changed. */
  check(): void;
  /** Removes the canaries. */
  [Symbol.dispose](): void;
}

function fingerprint(path: string): string {
  let st: ReturnType<typeof lstatSync>;
  try {
    st = lstatSync(path);
  } catch {
    return `${path}: missing`;
  }
  const head = `${path}: mode=${st.mode.toString(8)} uid=${st.uid} gid=${st.gid} mtime=${st.mtimeMs} size=${st.size}`;
  if (st.isFile()) return `${head} sha256=${createHash("sha256").update(readFileSync(path)).digest("hex")}`;
  if (st.isDirectory()) {
    const names = readdirSync(path).sort();
    return [head, ...names.map((n) => fingerprint(join(path, n)))].join("\n");
  }
  return head;
}

/** Names in a host directory that start with `prefix` (new ones there mean something was written). */
function namesWith(dir: string, prefix: string): string {
  try {
    return readdirSync(dir)
      .filter((n) => n.startsWith(prefix))
      .sort()
      .join(",");
  } catch {
    return "";
  }
}

export function plantHostCanaries(): HostCanaries {
  const tag = `polyarch-canary-${randomBytes(6).toString("hex")}`;
  const etcFile = `/etc/${tag}`;
  const tmpDir = `/tmp/${tag}`;
  const shmFile = `/dev/shm/${tag}`;
  writeFileSync(etcFile, "canary: must never change\n", { mode: 0o644 });
  mkdirSync(tmpDir, { mode: 0o755 });
  writeFileSync(join(tmpDir, "keep"), "keep me\n", { mode: 0o644 });
  writeFileSync(join(tmpDir, "zero"), "", { mode: 0o644 });
  mkdirSync(join(tmpDir, "empty"), { mode: 0o755 });
  writeFileSync(shmFile, "canary\n", { mode: 0o600 });
  const watched = [etcFile, tmpDir, shmFile];
  const before = watched.map(fingerprint);
  const neighbours = () => [namesWith("/etc", tag), namesWith("/tmp", tag), namesWith("/dev/shm", tag)];
  const neighboursBefore = neighbours();
  return {
    etcFile,
    tmpDir,
    shmFile,
    check() {
      const after = watched.map(fingerprint);
      const around = neighbours();
      const lines = watched.flatMap((p, i) =>
        after[i] === before[i] ? [] : [`changed: ${p}\n  before: ${before[i]}\n  after:  ${after[i]}`],
      );
      if (around.join("|") !== neighboursBefore.join("|"))
        lines.push(`new names next to the canaries: ${around.join(" | ")}`);
      if (lines.length > 0) throw new Error(`ESCAPED: the host changed\n${lines.join("\n")}`);
    },
    [Symbol.dispose]() {
      for (const p of watched) rmSync(p, { recursive: true, force: true });
    },
  };
}
