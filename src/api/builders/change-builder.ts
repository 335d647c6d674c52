/**
 * `polyarch create`'s rules, as buildx has them: a new builder, a node appended to one (`--append`), a
 * node changed (`--node NAME` of an existing builder), or a node removed (`--leave`).
 */
import { randomBytes } from "node:crypto";
import { UserError } from "../../errors/user-error.ts";
import {
  type BuilderRecord,
  checkName,
  DEFAULT_BUILDER,
  fixedPlatforms,
  type NodeRecord,
} from "./builder-record.ts";
import type { BuilderStore } from "./builder-store.ts";
import { nodeDriver } from "./node-driver.ts";

export interface CreateRequest {
  name?: string;
  driver?: string;
  platforms: readonly string[];
  node?: string;
  append?: boolean;
  leave?: boolean;
  endpoint?: string;
  /** `--driver-opt` values (buildx's k=v list, already split). */
  driverOpts?: Readonly<Record<string, string>>;
  /** Where relative paths of driver options are taken from. */
  cwd?: string;
}

/** The driver an endpoint implies when --driver is not given (as buildx picks remote for tcp:// and unix://). */
function impliedDriver(endpoint: string | undefined): string {
  if (endpoint?.startsWith("ssh://")) return "ssh";
  if (endpoint?.startsWith("tcp://") || endpoint?.startsWith("unix://")) return "remote";
  return "local";
}

async function newNode(req: CreateRequest, name: string): Promise<NodeRecord> {
  const driver = nodeDriver(req.driver ?? impliedDriver(req.endpoint));
  const given = req.driverOpts ?? {};
  let driverOpts: Record<string, string> | undefined;
  if (Object.keys(given).length > 0) {
    if (!driver.driverOpts) {
      throw new UserError(`the ${driver.name} driver takes no --driver-opt`, {
        hint: "drop --driver-opt, or use --driver remote for a BuildKit daemon",
      });
    }
    driverOpts = await driver.driverOpts(given, req.cwd ?? process.cwd());
  }
  return {
    name: checkName(name, "node"),
    driver: driver.name,
    endpoint: driver.endpoint(req.endpoint),
    platforms: fixedPlatforms(req.platforms),
    ...(driverOpts ? { driverOpts } : {}),
  };
}

/** `NAME<n>` for the n-th node, or the next free number (buildx names nodes so). */
function nextNodeName(builder: string, nodes: readonly NodeRecord[]): string {
  for (let i = nodes.length; ; i++)
    if (!nodes.some((n) => n.name === `${builder}${i}`)) return `${builder}${i}`;
}

function checkEndpoints(b: BuilderRecord): BuilderRecord {
  const seen = new Map<string, string>();
  for (const n of b.nodes) {
    const other = seen.get(n.endpoint);
    if (other !== undefined) {
      throw new UserError(`nodes ${other} and ${n.name} of builder ${b.name} would both be ${n.endpoint}`, {
        hint: `change node ${other} with --node ${other} instead of adding another`,
      });
    }
    seen.set(n.endpoint, n.name);
  }
  return b;
}

/** Applies the request to the stored builders; resolves the builder as saved. */
export async function changeBuilder(store: BuilderStore, req: CreateRequest): Promise<BuilderRecord> {
  if (req.name === DEFAULT_BUILDER) {
    throw new UserError("the default builder is this machine and cannot be changed", {
      hint: "give another name: `polyarch create --name NAME …`",
    });
  }
  if (req.leave) {
    if (!req.name || !req.node) {
      throw new UserError("--leave needs the builder and the node", {
        hint: "polyarch create --name BUILDER --node NODE --leave",
      });
    }
    const b = await store.get(req.name);
    if (!b.nodes.some((n) => n.name === req.node)) {
      throw new UserError(`builder ${b.name} has no node ${req.node}`, {
        hint: `its nodes: ${b.nodes.map((n) => n.name).join(", ")}`,
      });
    }
    if (b.nodes.length === 1) {
      throw new UserError(`${req.node} is the last node of builder ${b.name}`, {
        hint: `remove the builder instead: polyarch rm ${b.name}`,
      });
    }
    const left = { ...b, nodes: b.nodes.filter((n) => n.name !== req.node) };
    await store.save(left);
    return left;
  }
  const name = checkName(req.name ?? `builder-${randomBytes(3).toString("hex")}`, "builder");
  const existing = await store.find(name);
  if (!existing) {
    const b = checkEndpoints({ name, nodes: [await newNode(req, req.node ?? `${name}0`)] });
    await store.save(b);
    return b;
  }
  const at = req.node === undefined ? -1 : existing.nodes.findIndex((n) => n.name === req.node);
  let nodes: NodeRecord[];
  if (at >= 0) {
    const changed = await newNode(req, existing.nodes[at]!.name);
    nodes = existing.nodes.map((n, i) => (i === at ? changed : n));
  } else if (req.append) {
    nodes = [...existing.nodes, await newNode(req, req.node ?? nextNodeName(name, existing.nodes))];
  } else {
    throw new UserError(`builder ${name} already exists`, {
      hint: `add a node with --append, change one with --node NODE (its nodes: ${existing.nodes.map((n) => n.name).join(", ")}), or remove it with polyarch rm ${name}`,
    });
  }
  const b = checkEndpoints({ name, nodes });
  await store.save(b);
  return b;
}
