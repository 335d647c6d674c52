/**
 * Node drivers: how polyarch reaches a builder's node. A driver is registered by name ("local", "ssh", "remote"
 * for a BuildKit daemon), so the builder commands and the build never switch on
 * a node's kind.
 */
import { UserError } from "../../errors/user-error.ts";
import type { NodeRecord } from "./builder-record.ts";
import type { NodeInfo } from "./node-info.ts";
import type { NodeSolveRequest, NodeSolveResult } from "./node-solve.ts";

/** A node's answer to a probe: what it is, or why it cannot be used (with what to do). */
export type NodeStatus = { ok: true; info: NodeInfo } | { ok: false; error: string; hint?: string };

export interface ProbeOptions {
  signal: AbortSignal;
  /** This polyarch's version, for the local node's answer. */
  version: string;
}

/** An open connection to a node for one build: what it is, and its solve. */
export interface NodeConnection {
  info: NodeInfo;
  solve(req: Omit<NodeSolveRequest, "signal">): Promise<NodeSolveResult>;
  /** The node writes `--cache-to type=registry` itself (a BuildKit daemon), from `req.frontend.cacheTo`. */
  exportsCache?: boolean;
  close(): Promise<void>;
}

export interface NodeDriver {
  readonly name: string;
  /** The endpoint as stored, checked and normalised; throws a UserError naming what is wrong. */
  endpoint(given: string | undefined): string;
  /**
   * `--driver-opt` checked and normalised as they are stored (paths made absolute against `cwd`); a
   * driver without it takes none.
   */
  driverOpts?(given: Readonly<Record<string, string>>, cwd: string): Promise<Record<string, string>>;
  /** Asks the node what it is. Never throws for a node that is down: that is a status. */
  probe(node: NodeRecord, options: ProbeOptions): Promise<NodeStatus>;
  /**
   * Opens a node for a build (ending it when `signal` aborts). A driver without it builds in this process
   * (the local node).
   */
  connect?(node: NodeRecord, options: ProbeOptions): Promise<NodeConnection>;
  /** Its nodes read `--cache-from type=registry` themselves, in their own format (a BuildKit daemon). */
  readonly readsRegistryCache?: boolean;
}

const drivers = new Map<string, NodeDriver>();

export function registerNodeDriver(driver: NodeDriver): void {
  drivers.set(driver.name, driver);
}

export function nodeDriver(name: string): NodeDriver {
  const d = drivers.get(name);
  if (!d) {
    throw new UserError(`unknown driver ${JSON.stringify(name)}`, {
      hint: `use one of: ${[...drivers.keys()].join(", ")}`,
    });
  }
  return d;
}

export function nodeDriverNames(): string[] {
  return [...drivers.keys()];
}
