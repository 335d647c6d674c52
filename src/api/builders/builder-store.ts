/**
 * The builder list: one plain JSON file per builder under the user's config directory
 * ($XDG_CONFIG_HOME/polyarch/builders/NAME.json, else ~/.config/polyarch/…), and `current` naming the
 * builder a build uses when it is given none. Every write replaces a whole file atomically, so a reader
 * sees the old or the new builder, never a part of one. The `default` builder (this machine) has no file.
 */
import { mkdir, readdir, readFile, unlink } from "node:fs/promises";
import { homedir } from "node:os";
import { isAbsolute, join } from "node:path";
import { UserError } from "../../errors/user-error.ts";
import { fsyncDir, writeFileAtomic } from "../../fsutil/atomic-file.ts";
import {
  type BuilderRecord,
  checkName,
  DEFAULT_BUILDER,
  defaultBuilder,
  parseBuilderRecord,
} from "./builder-record.ts";

export function defaultConfigDir(env: NodeJS.ProcessEnv = process.env): string {
  // The XDG spec says a relative XDG_CONFIG_HOME is invalid and must be ignored.
  const xdg = env.XDG_CONFIG_HOME;
  if (xdg && isAbsolute(xdg)) return join(xdg, "polyarch");
  return join(env.HOME || homedir(), ".config", "polyarch");
}

export class BuilderStore {
  readonly dir: string;

  constructor(configDir: string = defaultConfigDir()) {
    this.dir = configDir;
  }

  get #builders(): string {
    return join(this.dir, "builders");
  }

  #file(name: string): string {
    return join(this.#builders, `${checkName(name, "builder")}.json`);
  }

  /** The builder of that name; `default` is always there. Undefined when there is none. */
  async find(name: string): Promise<BuilderRecord | undefined> {
    if (name === DEFAULT_BUILDER) return defaultBuilder();
    const file = this.#file(name);
    let text: string;
    try {
      text = await readFile(file, "utf8");
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "ENOENT") return undefined;
      throw e;
    }
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      // The message quotes nothing of the file: it is the user's, but errors never echo file bytes.
      throw new UserError(`builder file ${file} is not valid JSON`, {
        hint: `fix or remove the file, then \`polyarch create --name ${name} …\` again`,
      });
    }
    const record = parseBuilderRecord(value, file);
    if (record.name !== name) {
      throw new UserError(`builder file ${file} names another builder (${JSON.stringify(record.name)})`, {
        hint: "rename the file to match the name inside it, or remove it",
      });
    }
    return record;
  }

  /** Like find, but a missing builder is an error that says how to list them. */
  async get(name: string): Promise<BuilderRecord> {
    const b = await this.find(name);
    if (!b) {
      throw new UserError(`no builder named ${JSON.stringify(name)}`, {
        hint: "`polyarch ls` lists the builders; `polyarch create --name NAME …` makes one",
      });
    }
    return b;
  }

  /** Every builder, `default` first, the others by name. */
  async list(): Promise<BuilderRecord[]> {
    let names: string[] = [];
    try {
      names = (await readdir(this.#builders))
        .filter((f) => f.endsWith(".json"))
        .map((f) => f.slice(0, -".json".length));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "ENOENT") throw e;
    }
    const out = [defaultBuilder()];
    for (const n of names.sort()) {
      if (n === DEFAULT_BUILDER) continue;
      try {
        checkName(n, "builder");
      } catch {
        continue; // not one of ours (a file the user dropped there)
      }
      const b = await this.find(n);
      if (b) out.push(b);
    }
    return out;
  }

  async save(builder: BuilderRecord): Promise<void> {
    if (builder.name === DEFAULT_BUILDER) {
      throw new UserError("the default builder is this machine and cannot be changed", {
        hint: "create another: `polyarch create --name NAME …`",
      });
    }
    await mkdir(this.#builders, { recursive: true, mode: 0o700 });
    // 0600: a node's record names where its TLS key lives (never the key itself).
    await writeFileAtomic(this.#file(builder.name), `${JSON.stringify(builder, null, 2)}\n`, {
      mode: 0o600,
    });
  }

  async remove(name: string): Promise<void> {
    if (name === DEFAULT_BUILDER) {
      throw new UserError("the default builder cannot be removed", {
        hint: "it is this machine; it needs no setup",
      });
    }
    await this.get(name);
    await unlink(this.#file(name));
    await fsyncDir(this.#builders);
    if ((await this.currentName()) === name) await this.setCurrent(DEFAULT_BUILDER);
  }

  /** The builder `use` chose; `default` when none was chosen or the chosen one is gone. */
  async currentName(): Promise<string> {
    try {
      const v = JSON.parse(await readFile(join(this.dir, "current"), "utf8")) as { builder?: unknown };
      if (typeof v.builder === "string" && (await this.find(v.builder))) return v.builder;
    } catch {
      // no choice made, or an unreadable one: the default builder, as with no file
    }
    return DEFAULT_BUILDER;
  }

  async setCurrent(name: string): Promise<void> {
    await this.get(name);
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    await writeFileAtomic(join(this.dir, "current"), `${JSON.stringify({ builder: name })}\n`);
  }
}
