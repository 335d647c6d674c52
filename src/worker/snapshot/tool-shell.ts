/**
 * Runs short system tools (mount, umount) through one long-lived shell instead of one spawn each.
 *
 * Why: Node's spawn forks the whole CLI process on its main thread; at the CLI's size that costs tens of
 * milliseconds, blocking everything else, and every file op (WORKDIR, COPY) pays a mount and an unmount.
 * A small shell forks in about a millisecond. The cold small build spent most of its main-thread time in
 * spawn before this (bench/README.md has the profile).
 *
 * The shell reads commands on stdin, one at a time; each answer is the tool's stderr and exit code,
 * NUL-separated. It exits when its stdin closes, so it never outlives this process (even a killed one),
 * and it does not keep the event loop alive while idle. Arguments are single-quoted; nothing is
 * interpolated by the shell.
 */
import { type ChildProcessByStdio, spawn } from "node:child_process";
import type { Readable, Writable } from "node:stream";

interface Pending {
  command: string;
  resolve: (r: { code: number; stderr: string }) => void;
  reject: (e: Error) => void;
}

type Shell = ChildProcessByStdio<Writable, Readable, null>;

const loop = 'while IFS= read -r cmd; do eval "$cmd"; done';

function quote(arg: string): string {
  return `'${arg.replace(/'/g, `'\\''`)}'`;
}

class ToolShell {
  #shell: Shell | undefined;
  #queue: Pending[] = [];
  #current: Pending | undefined;
  #buffer = "";

  run(file: string, args: readonly string[], cwd?: string): Promise<{ code: number; stderr: string }> {
    const tool = [file, ...args].map(quote).join(" ");
    const inDir = cwd ? `cd ${quote(cwd)} && ${tool}` : tool;
    // One line: the shell reads commands line by line, so newlines inside arguments are escaped away.
    const script = `err=$( (${inDir}) 2>&1 >/dev/null); printf '%s\\0%s\\0' "$err" "$?"`;
    const encoded = `eval "$(printf '%b' ${quote(escapeNewlines(script))})"`;
    return new Promise((resolve, reject) => {
      this.#queue.push({ command: `${encoded}\n`, resolve, reject });
      this.#next();
    });
  }

  #start(): Shell {
    const shell = spawn("sh", ["-c", loop], { stdio: ["pipe", "pipe", "ignore"] });
    shell.stdout.setEncoding("utf8");
    shell.stdout.on("data", (chunk: string) => this.#onData(chunk));
    const fail = (e: Error) => {
      if (this.#shell !== shell) return;
      this.#shell = undefined;
      this.#buffer = "";
      const waiting = [...(this.#current ? [this.#current] : []), ...this.#queue];
      this.#current = undefined;
      this.#queue = [];
      for (const p of waiting) p.reject(e);
    };
    shell.on("error", fail);
    shell.on("close", () => fail(new Error("the shell that runs mount and umount exited")));
    shell.stdin.on("error", () => {});
    return shell;
  }

  #next(): void {
    if (this.#current || this.#queue.length === 0) return;
    this.#shell ??= this.#start();
    const shell = this.#shell;
    this.#current = this.#queue.shift()!;
    this.#setRef(shell, true);
    shell.stdin.write(this.#current.command);
  }

  #onData(chunk: string): void {
    this.#buffer += chunk;
    const parts = this.#buffer.split("\0");
    if (parts.length < 3 || !this.#current) return;
    const [stderr = "", code = ""] = parts;
    this.#buffer = parts.slice(2).join("\0");
    const done = this.#current;
    this.#current = undefined;
    done.resolve({ code: Number(code), stderr });
    if (this.#queue.length > 0) this.#next();
    else if (this.#shell) this.#setRef(this.#shell, false);
  }

  /** Busy: keeps the process alive until the answer comes; idle: lets it exit. */
  #setRef(shell: Shell, busy: boolean): void {
    const handles = [shell, shell.stdin, shell.stdout] as { ref(): void; unref(): void }[];
    for (const h of handles) {
      if (busy) h.ref();
      else h.unref();
    }
  }
}

/** printf %b turns "\n" back into a newline; backslashes of the script itself are doubled first. */
function escapeNewlines(script: string): string {
  return script.replace(/\\/g, "\\\\").replace(/\n/g, "\\n");
}

const shell = new ToolShell();

/** Runs `file args` (in `cwd`); rejects as a failed spawn would (code ENOENT) when the tool is missing. */
export async function runTool(file: string, args: readonly string[], cwd?: string): Promise<string> {
  const { code, stderr } = await shell.run(file, args, cwd);
  if (code === 127)
    throw Object.assign(new Error(`spawn ${file} ENOENT`), {
      code: "ENOENT",
      errno: -2,
      syscall: `spawn ${file}`,
      path: file,
      spawnargs: [...args],
    });
  if (code !== 0) throw Object.assign(new Error(`${file} ${args.join(" ")}: ${stderr.trim()}`), { stderr });
  return stderr;
}
