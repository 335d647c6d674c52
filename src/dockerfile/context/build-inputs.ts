import { readFile, realpath, stat } from "node:fs/promises";
import { basename, dirname, isAbsolute, join, relative, resolve } from "node:path";
import { UserError } from "../../errors/user-error.ts";
import { type IgnoreRules, loadIgnoreRules, noIgnoreRules } from "./ignore-rules.ts";

const stdinName = "<stdin>";

/** What a build reads before planning: the context directory, the Dockerfile text and the ignore rules. */
export interface BuildInputs {
  /** Absolute, symlink-resolved context directory; undefined when the context is `-` (no files). */
  contextDir: string | undefined;
  dockerfile: {
    /** Absolute path, or undefined when read from stdin. */
    path: string | undefined;
    /** How errors and lint findings name the file: relative to the working directory, or `<stdin>`. */
    displayName: string;
    text: string;
  };
  ignore: IgnoreRules;
}

export interface BuildInputOptions {
  /** The CONTEXT argument: a directory, or `-` to read the Dockerfile from stdin with an empty context. */
  context: string;
  /** The `-f/--file` value: a path relative to `cwd`, or `-` for stdin. */
  file?: string;
  cwd?: string;
  /** Reads all of stdin; injected so tests and library callers need no real stdin. */
  readStdin?: () => Promise<string>;
}

/**
 * Resolves CONTEXT and `-f` the way `docker buildx build` does: `-f` is relative to the working directory
 * (not to the context), the default Dockerfile is `<context>/Dockerfile`, and `-` reads it from stdin.
 */
export async function resolveBuildInputs(options: BuildInputOptions): Promise<BuildInputs> {
  const cwd = options.cwd ?? process.cwd();
  const readStdin = options.readStdin ?? readProcessStdin;
  if (/^(https?|git):\/\/|^git@|^github\.com\//.test(options.context)) {
    throw new UserError(`remote build contexts are not supported yet: ${options.context}`, {
      hint: "clone or download it first and pass the local directory as CONTEXT",
    });
  }

  if (options.context === "-") {
    if (options.file !== undefined && options.file !== "-") {
      throw new UserError("a Dockerfile from stdin (CONTEXT `-`) cannot be combined with -f", {
        hint: "either pipe the Dockerfile into `polyarch build -` or pass a context directory and -f",
      });
    }
    const text = await readStdin();
    return {
      contextDir: undefined,
      dockerfile: { path: undefined, displayName: stdinName, text: checkNotEmpty(text, stdinName) },
      ignore: noIgnoreRules,
    };
  }

  const contextDir = await resolveContextDir(resolve(cwd, options.context), options.context);
  if (options.file === "-") {
    const text = await readStdin();
    return {
      contextDir,
      dockerfile: { path: undefined, displayName: stdinName, text: checkNotEmpty(text, stdinName) },
      ignore: await loadIgnoreRules(contextDir),
    };
  }

  const dockerfilePath =
    options.file !== undefined
      ? resolve(cwd, options.file)
      : await defaultDockerfile(resolve(cwd, options.context));
  const displayName = displayPath(cwd, dockerfilePath);
  const readable = await confinedDockerfile(dockerfilePath, contextDir, displayName);
  const text = await readDockerfile(readable, displayName, options.file === undefined);
  return {
    contextDir,
    dockerfile: { path: dockerfilePath, displayName, text: checkNotEmpty(text, displayName) },
    ignore: await loadIgnoreRules(contextDir, dockerfilePath),
  };
}

async function resolveContextDir(dir: string, asGiven: string): Promise<string> {
  let info: Awaited<ReturnType<typeof stat>>;
  try {
    info = await stat(dir);
  } catch {
    throw new UserError(`build context ${JSON.stringify(asGiven)} does not exist`, {
      hint: "pass the directory that holds the files the Dockerfile copies, usually `.`",
    });
  }
  if (!info.isDirectory()) {
    throw new UserError(`build context ${JSON.stringify(asGiven)} is not a directory`, {
      hint: "pass the directory that holds the files the Dockerfile copies; name the Dockerfile with -f",
    });
  }
  return realpath(dir);
}

/**
 * A Dockerfile that is a symbolic link is followed only to a file inside the build context or inside the
 * directory it is named in, as BuildKit reads it from a snapshot of that directory (links resolved in it).
 * A context is often someone else's: its Dockerfile may point at /etc/shadow, and polyarch, running as root,
 * would then read that file and quote its lines in the parse error. Resolves the path to read.
 */
async function confinedDockerfile(path: string, contextDir: string, displayName: string): Promise<string> {
  let real: string;
  let ownDir: string;
  try {
    real = await realpath(path);
    ownDir = await realpath(dirname(path));
  } catch {
    return path; // missing or unreadable: readDockerfile says which
  }
  if (real === join(ownDir, basename(path)) || isInside(real, ownDir) || isInside(real, contextDir))
    return real;
  throw new UserError(
    `Dockerfile ${displayName} is a symbolic link to a file outside the build context and outside its own directory`,
    {
      hint: "polyarch does not read files that a context's links point to elsewhere; if you mean that file, pass its own path with -f",
    },
  );
}

function isInside(path: string, dir: string): boolean {
  const rel = relative(dir, path);
  return rel !== "" && rel !== ".." && !rel.startsWith("../") && !isAbsolute(rel);
}

// The Docker CLI falls back to a lowercase `dockerfile` when `Dockerfile` is absent; keep that courtesy.
async function defaultDockerfile(contextDir: string): Promise<string> {
  const upper = join(contextDir, "Dockerfile");
  const lower = join(contextDir, "dockerfile");
  for (const candidate of [upper, lower]) {
    try {
      if ((await stat(candidate)).isFile()) return candidate;
    } catch {
      // try the next spelling
    }
  }
  return upper;
}

async function readDockerfile(path: string, displayName: string, isDefault: boolean): Promise<string> {
  try {
    return await readFile(path, "utf8");
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === "ENOENT") {
      throw new UserError(`cannot find Dockerfile ${displayName}`, {
        hint: isDefault
          ? "the default is CONTEXT/Dockerfile; name another file with -f PATH (relative to the current directory)"
          : "-f takes a path relative to the current directory, not to the context",
      });
    }
    if (code === "EISDIR") {
      throw new UserError(`Dockerfile ${displayName} is a directory`, {
        hint: "-f takes the path of the Dockerfile itself, e.g. -f build/Dockerfile",
      });
    }
    throw new UserError(`cannot read Dockerfile ${displayName}: ${code ?? String(e)}`, { cause: e });
  }
}

function checkNotEmpty(text: string, displayName: string): string {
  if (text.trim() === "") {
    throw new UserError(`the Dockerfile ${displayName} is empty`, {
      hint: "a Dockerfile needs at least one FROM instruction",
    });
  }
  return text;
}

function displayPath(cwd: string, path: string): string {
  const rel = relative(cwd, path);
  return rel === "" || rel.startsWith("..") || isAbsolute(rel) ? path : rel;
}

async function readProcessStdin(): Promise<string> {
  if (process.stdin.isTTY) {
    throw new UserError("expected a Dockerfile on stdin, but stdin is a terminal", {
      hint: "pipe the Dockerfile in, e.g. `polyarch build -f - . < Dockerfile`",
    });
  }
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}
