/**
 * An ordered list of variables, as BuildKit keeps a state's environment: setting a key that exists replaces
 * its value in place, a new key goes last. The order is part of an exec's definition, so it must be stable.
 */
export class EnvList {
  #keys: string[] = [];
  #values = new Map<string, string>();
  #strings: readonly string[] | undefined;

  static from(entries: Iterable<readonly [string, string]>): EnvList {
    const list = new EnvList();
    for (const [k, v] of entries) list.set(k, v);
    return list;
  }

  /** Parses `KEY=value` strings (an image config's Env); a string without `=` sets an empty value. */
  static fromStrings(env: readonly string[]): EnvList {
    return EnvList.from(env.map((e) => splitEnv(e)));
  }

  get(key: string): string | undefined {
    return this.#values.get(key);
  }

  has(key: string): boolean {
    return this.#values.has(key);
  }

  set(key: string, value: string): void {
    if (!this.#values.has(key)) this.#keys.push(key);
    this.#values.set(key, value);
    this.#strings = undefined;
  }

  keys(): string[] {
    return [...this.#keys];
  }

  entries(): [string, string][] {
    return this.#keys.map((k) => [k, this.#values.get(k)!]);
  }

  /** `KEY=value` strings; the same frozen array until the next change, so its digest text is reused. */
  toStrings(): readonly string[] {
    this.#strings ??= Object.freeze(this.#keys.map((k) => `${k}=${this.#values.get(k)!}`));
    return this.#strings;
  }

  clone(): EnvList {
    return EnvList.from(this.entries());
  }

  /** A lookup function for the shell lexer. */
  lookup(): (name: string) => string | undefined {
    return (name) => this.#values.get(name);
  }
}

export function splitEnv(entry: string): [string, string] {
  const eq = entry.indexOf("=");
  return eq < 0 ? [entry, ""] : [entry.slice(0, eq), entry.slice(eq + 1)];
}

/** Sets `key=value` in an image config's Env list, replacing an existing entry in place. */
export function setEnvString(env: string[], key: string, value: string): void {
  const i = env.findIndex((e) => splitEnv(e)[0] === key);
  if (i >= 0) env[i] = `${key}=${value}`;
  else env.push(`${key}=${value}`);
}
