/**
 * A builder as the user configured it (`polyarch create`): a name and its nodes, each node run by a
 * registered driver (node-driver.ts). This is the plain data kept in the builder's file; what a node can
 * do right now (its platforms, versions) is asked of it (NodeInfo), never stored.
 */
import { UserError } from "../../errors/user-error.ts";
import { formatPlatform, parsePlatform } from "../../oci/platform.ts";

export interface NodeRecord {
  name: string;
  /**
   * The driver that runs it: "local" (this machine), "ssh" (polyarch on another machine over ssh) or
   * "remote" (a BuildKit daemon).
   */
  driver: string;
  /** Where the driver reaches it: "local", `ssh://user@host[:port]`, `unix:///path` or `tcp://host:port`. */
  endpoint: string;
  /**
   * Platforms the user fixed with --platform (normalised, `os/arch[/variant]`): builds route these to this
   * node first. Empty: the node's own detected platforms.
   */
  platforms: string[];
  /**
   * `--driver-opt k=v,…` as the driver checked them at create time (the remote driver's cacert=, cert=,
   * key= as absolute paths, servername=). Absent when none were given.
   */
  driverOpts?: Record<string, string>;
}

export interface BuilderRecord {
  name: string;
  nodes: NodeRecord[];
}

/** The builder that needs no setup: this machine, as a build without --builder uses it. */
export const DEFAULT_BUILDER = "default";

export function defaultBuilder(): BuilderRecord {
  return {
    name: DEFAULT_BUILDER,
    nodes: [{ name: DEFAULT_BUILDER, driver: "local", endpoint: "local", platforms: [] }],
  };
}

// As buildx: a name is also a file name here, so it is a plain token (no slash, no leading dot).
const NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,62}$/;

export function checkName(name: string, what: "builder" | "node"): string {
  if (!NAME.test(name)) {
    throw new UserError(`invalid ${what} name ${JSON.stringify(name)}`, {
      hint: "use letters, digits, '_', '.' and '-', starting with a letter or digit (at most 63)",
    });
  }
  return name;
}

/** `--platform a,b` given to create, normalised and without repeats. */
export function fixedPlatforms(values: readonly string[]): string[] {
  const out: string[] = [];
  for (const v of values.flatMap((s) => s.split(","))) {
    const t = v.trim();
    if (!t) continue;
    const p = formatPlatform(parsePlatform(t));
    if (!out.includes(p)) out.push(p);
  }
  return out;
}

/** Reads a builder file's JSON, checking every field: the file may have been edited by hand. */
export function parseBuilderRecord(value: unknown, file: string): BuilderRecord {
  const bad = (why: string) =>
    new UserError(`builder file ${file} is not valid: ${why}`, {
      hint: "fix or remove the file (`polyarch rm NAME` removes a builder), then create it again",
    });
  if (typeof value !== "object" || value === null) throw bad("not a JSON object");
  const v = value as Record<string, unknown>;
  if (typeof v.name !== "string" || !NAME.test(v.name)) throw bad("no valid name");
  if (!Array.isArray(v.nodes) || v.nodes.length === 0) throw bad("no nodes");
  const nodes = v.nodes.map((n, i): NodeRecord => {
    if (typeof n !== "object" || n === null) throw bad(`node ${i} is not an object`);
    const r = n as Record<string, unknown>;
    if (typeof r.name !== "string" || !NAME.test(r.name)) throw bad(`node ${i} has no valid name`);
    if (typeof r.driver !== "string") throw bad(`node ${r.name} has no driver`);
    if (typeof r.endpoint !== "string") throw bad(`node ${r.name} has no endpoint`);
    if (!Array.isArray(r.platforms) || !r.platforms.every((p) => typeof p === "string"))
      throw bad(`node ${r.name} has no platform list`);
    let platforms: string[];
    try {
      platforms = fixedPlatforms(r.platforms as string[]);
    } catch (e) {
      throw bad(`node ${r.name}: ${e instanceof Error ? e.message : String(e)}`);
    }
    let driverOpts: Record<string, string> | undefined;
    if (r.driverOpts !== undefined) {
      const o = r.driverOpts;
      if (
        typeof o !== "object" ||
        o === null ||
        Array.isArray(o) ||
        !Object.values(o).every((x) => typeof x === "string")
      )
        throw bad(`node ${r.name} has driver options that are not text`);
      driverOpts = { ...(o as Record<string, string>) };
    }
    return {
      name: r.name,
      driver: r.driver,
      endpoint: r.endpoint,
      platforms,
      ...(driverOpts ? { driverOpts } : {}),
    };
  });
  return { name: v.name, nodes };
}
