// Instruction flags: which ones each instruction accepts and how their values are checked, as BuildKit's
// BFlags does (a bool flag may be bare or `=true|false`, a string flag needs `=value`, only list flags such
// as --mount and --exclude may repeat).

import type { Flag, Keyword } from "../ast.ts";
import { DockerfileError, type DockerfileSource, didYouMean } from "../errors.ts";
import type { LogicalLine } from "./logical-line.ts";
import type { RawFlag } from "./split-command.ts";

export type FlagKind = "bool" | "string" | "list";

const copyCommon: Record<string, FlagKind> = {
  chown: "string",
  chmod: "string",
  link: "bool",
  exclude: "list",
};

const specs: Partial<Record<Keyword, Record<string, FlagKind>>> = {
  FROM: { platform: "string" },
  RUN: { mount: "list", network: "string", security: "string" },
  COPY: { ...copyCommon, from: "string", parents: "bool" },
  ADD: { ...copyCommon, checksum: "string", "keep-git-dir": "bool", unpack: "bool" },
  HEALTHCHECK: {
    interval: "string",
    timeout: "string",
    "start-period": "string",
    "start-interval": "string",
    retries: "string",
  },
};

/** Flags that exist only in the labs channel of the Dockerfile syntax (`# syntax=docker/dockerfile:1-labs`). */
const labsSpecs: Partial<Record<Keyword, Record<string, FlagKind>>> = {
  RUN: { device: "list" },
};

// BuildKit knows a labs flag in every channel but refuses it outside labs with these words.
const labsOnlyMessages: Record<string, string> = {
  "RUN --device": "device feature is only supported in Dockerfile frontend 1.14.0-labs or later",
};

const specCache = new Map<string, Record<string, FlagKind>>();

/** The flags `keyword` accepts. */
export function flagSpec(keyword: Keyword, labs: boolean): Record<string, FlagKind> {
  const key = labs ? `${keyword}+labs` : keyword;
  let spec = specCache.get(key);
  if (!spec) {
    spec = { ...(specs[keyword] ?? {}), ...(labs ? (labsSpecs[keyword] ?? {}) : {}) };
    specCache.set(key, spec);
  }
  return spec;
}

/** True when a boolean flag is present and not `=false`. */
export function isTrueFlag(flag: Flag | undefined): boolean {
  return flag !== undefined && (flag.value === undefined || flag.value.toLowerCase() === "true");
}

/** Checks the raw flags of one instruction against what it accepts and returns them typed. */
export function readFlags(
  keyword: Keyword,
  raw: readonly RawFlag[],
  line: LogicalLine,
  source: DockerfileSource,
  labs: boolean,
): Flag[] {
  if (raw.length === 0) return [];
  const spec = flagSpec(keyword, labs);
  const names = Object.keys(spec);
  const seen = new Set<string>();
  const out: Flag[] = [];
  for (const r of raw) {
    const body = r.text.slice(2);
    const eq = body.indexOf("=");
    const name = eq < 0 ? body : body.slice(0, eq);
    const value = eq < 0 ? undefined : body.slice(eq + 1);
    const pos = line.posAt(r.start);
    const fail = (message: string, hint?: string): never => {
      throw new DockerfileError(message, source, pos, hint === undefined ? {} : { hint });
    };
    const kind = spec[name];
    const labsOnly = labs ? undefined : labsOnlyMessages[`${keyword} --${name}`];
    if (kind === undefined && labsOnly !== undefined)
      fail(labsOnly, "put `# syntax=docker/dockerfile:1-labs` on the Dockerfile's first line to use it");
    if (kind === undefined) {
      const suggestion = didYouMean(name, names);
      fail(
        // BuildKit's words (`unknown flag: --mont (did you mean mount?)`), which users search for.
        `unknown flag: --${name}${suggestion ? ` (${suggestion})` : ""}`,
        names.length === 0
          ? `${keyword} takes no flags`
          : `${keyword} accepts ${names.map((n) => `--${n}`).join(", ")}`,
      );
    }
    if (seen.has(name) && kind !== "list") fail(`duplicate flag specified: ${name}`, "give each flag once");
    seen.add(name);
    if (kind === "bool") {
      if (value !== undefined) {
        const lower = value.toLowerCase();
        if (value === "")
          fail(`missing a value on flag: ${name}`, `write --${name}, --${name}=true or --${name}=false`);
        if (lower !== "true" && lower !== "false") {
          fail(
            `expecting boolean value for flag ${name}, not: ${value}`,
            `use --${name}=true or --${name}=false`,
          );
        }
      }
    } else if (value === undefined) {
      fail(`missing a value on flag: ${name}`, `write --${name}=VALUE`);
    }
    out.push({
      name,
      value,
      pos,
      valuePos: value === undefined ? undefined : line.posAt(r.eqAt >= 0 ? r.eqAt + 1 : r.start),
      raw: line.text.slice(r.start, r.end),
    });
  }
  return out;
}
