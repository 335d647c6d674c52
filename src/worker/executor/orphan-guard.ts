import { spawn } from "node:child_process";

/**
 * A build owns its containers, but a `runc run` that loses its parent (polyarch killed with SIGKILL,
 * OOM-killed) leaves the container running, with the step's bundle (and any env secrets in it) on
 * /dev/shm. The guard is a small shell in a session of its own (so a kill of polyarch's process group
 * spares it) that waits for polyarch's end — the pipe it reads closes however polyarch dies — and then
 * deletes the containers and bundles polyarch's owner tag names. After a normal exit there is nothing
 * left for it to find, and it finishes at once.
 */
const script = `read -r _
runc="$1"; root="$2"; bundles="$3"; prefix="$4"
for d in "$root"/"$prefix"*; do
  [ -d "$d" ] && "$runc" --root "$root" delete --force "\${d##*/}" >/dev/null 2>&1
done
for d in "$bundles"/"$prefix"*; do [ -e "$d" ] && rm -rf "$d"; done
rmdir "$bundles" 2>/dev/null
exit 0`;

const started = new Set<string>();

/** Starts the guard for containers named `prefix…` in `runcRoot` and bundles in `bundleRoot`; once per place. */
export function startOrphanGuard(runc: string, runcRoot: string, bundleRoot: string, prefix: string): void {
  const key = `${runcRoot}\0${bundleRoot}\0${prefix}`;
  if (started.has(key)) return;
  started.add(key);
  try {
    const child = spawn("sh", ["-c", script, "polyarch-orphan-guard", runc, runcRoot, bundleRoot, prefix], {
      detached: true,
      stdio: ["pipe", "ignore", "ignore"],
    });
    child.on("error", () => {
      // Without a shell there is no guard; the next build's clean-up still removes the leftovers.
    });
    // Neither the child nor its pipe may keep polyarch alive.
    child.unref();
    (child.stdin as unknown as { unref?: () => void } | null)?.unref?.();
  } catch {
    // As above.
  }
}
