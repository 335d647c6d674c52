/**
 * Bytes a directory tree takes on disk (lstat blocks, links never followed), as `du` counts them: a file
 * with several hard links inside the walk counts once. `skip`: directories counted as their own inode only
 * (measured elsewhere); `seen`: inodes already counted by an earlier walk (shared across calls).
 */
import { lstat, readdir } from "node:fs/promises";
import { join } from "node:path";

export async function treeBytes(
  dir: string,
  options: { skip?: ReadonlySet<string>; seen?: Set<string> } = {},
): Promise<number> {
  const seen = options.seen ?? new Set<string>();
  let total = await lstat(dir).then(
    (st) => st.blocks * 512,
    () => 0,
  );
  const stack = [dir];
  while (stack.length > 0) {
    const d = stack.pop()!;
    for (const e of await readdir(d, { withFileTypes: true }).catch(() => [])) {
      const p = join(d, e.name);
      const st = await lstat(p).catch(() => undefined);
      if (!st) continue; // Gone meanwhile.
      if (st.nlink > 1 && !st.isDirectory()) {
        const id = `${st.dev}:${st.ino}`;
        if (seen.has(id)) continue;
        seen.add(id);
      }
      total += st.blocks * 512;
      if (st.isDirectory() && !options.skip?.has(p)) stack.push(p);
    }
  }
  return total;
}
