import { spawn } from "node:child_process";

/**
 * GNU tar does what Node's fs cannot: read and write xattrs (security.capability, overlay's opaque
 * marker) and copy a list of paths with their metadata and hard links in one pass. The copy snapshotter
 * uses it; the overlay one never needs it.
 */
const common = ["--numeric-owner", "--xattrs", "--xattrs-include=*", "--null", "--verbatim-files-from"];

function fileList(paths: readonly string[]): Buffer {
  return Buffer.from(paths.map((p) => `./${p}\0`).join(""));
}

function collect(stream: NodeJS.ReadableStream | null): Promise<string> {
  return new Promise((resolve) => {
    if (!stream) return resolve("");
    const chunks: Buffer[] = [];
    stream.on("data", (c: Buffer) => chunks.push(c));
    stream.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
  });
}

function exitOf(child: ReturnType<typeof spawn>): Promise<number> {
  return new Promise((resolve, reject) => {
    child.on("error", reject);
    child.on("close", (code) => resolve(code ?? 1));
  });
}

/**
 * Copies `paths` (relative to `from`, parents listed before children, directories without their
 * contents) into `to`, keeping owners, modes, times, xattrs and hard links. Overlay's own xattrs stay behind.
 */
export async function copyPaths(from: string, to: string, paths: readonly string[]): Promise<void> {
  if (paths.length === 0) return;
  const create = spawn(
    "tar",
    ["-C", from, ...common, "--xattrs-exclude=trusted.overlay.*", "--no-recursion", "-T", "-", "-cf", "-"],
    { stdio: ["pipe", "pipe", "pipe"] },
  );
  const extract = spawn("tar", ["-C", to, ...common, "-xpf", "-"], { stdio: ["pipe", "ignore", "pipe"] });
  create.stdout!.pipe(extract.stdin!);
  create.stdin!.end(fileList(paths));
  const [cErr, xErr, cCode, xCode] = await Promise.all([
    collect(create.stderr),
    collect(extract.stderr),
    exitOf(create),
    exitOf(extract),
  ]);
  // tar exits 1 for "file changed as we read it" and skipped sockets, which a layer does not carry anyway.
  if (cCode > 1 || xCode !== 0)
    throw new Error(`copying changed files with tar failed: ${(cErr + xErr).trim()}`);
}
