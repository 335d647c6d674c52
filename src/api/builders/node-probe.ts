/**
 * Asks every node of a builder what it is, at once, each within a time limit (as `buildx ls` loads
 * status within 20 s): a node that is down is a status, not a failure of the command.
 */
import { UserError } from "../../errors/user-error.ts";
import { formatPlatform, parsePlatform, samePlatform } from "../../oci/platform.ts";
import type { BuilderRecord, NodeRecord } from "./builder-record.ts";
import "./local-driver.ts";
import "./ssh-driver.ts";
import "./remote-driver.ts";
import { type NodeConnection, type NodeStatus, nodeDriver } from "./node-driver.ts";
import type { NodeProblem } from "./node-info.ts";

export interface ProbedNode {
  node: NodeRecord;
  status: NodeStatus;
  /** The platforms it builds, as `ls` shows them: fixed ones first (marked), then native, then emulated. */
  platforms: { platform: string; fixed: boolean; emulated: boolean }[];
  /** What keeps it from building all it is meant to, with the fix (its own problems, plus ours). */
  problems: NodeProblem[];
  /** With `connect`: the node's open connection for the build (nodes whose driver connects). */
  connection?: NodeConnection;
}

export async function probeBuilder(
  builder: BuilderRecord,
  version: string,
  timeoutMs = 20_000,
  /** Opens a connection for a build instead of a probe where the driver can (ended by this signal). */
  connect?: AbortSignal,
): Promise<ProbedNode[]> {
  return Promise.all(
    builder.nodes.map(async (node): Promise<ProbedNode> => {
      const driver = nodeDriver(node.driver);
      let status: NodeStatus;
      let connection: NodeConnection | undefined;
      try {
        if (connect && driver.connect) {
          connection = await driver.connect(node, { signal: connect, version });
          status = { ok: true, info: connection.info };
        } else {
          status = await driver.probe(node, { signal: AbortSignal.timeout(timeoutMs), version });
        }
      } catch (e) {
        status = {
          ok: false,
          error: e instanceof Error ? e.message : String(e),
          ...(e instanceof UserError && e.hint ? { hint: e.hint } : {}),
        };
      }
      return { ...describe(node, status, version), ...(connection ? { connection } : {}) };
    }),
  );
}

const runs = (list: readonly string[], p: string) =>
  list.some((q) => samePlatform(parsePlatform(q), parsePlatform(p)));

function describe(node: NodeRecord, status: NodeStatus, version: string): ProbedNode {
  const platforms: ProbedNode["platforms"] = [];
  const add = (platform: string, fixed: boolean, emulated: boolean) => {
    if (!platforms.some((x) => x.platform === platform)) platforms.push({ platform, fixed, emulated });
  };
  const info = status.ok ? status.info : undefined;
  for (const p of node.platforms) add(p, true, info ? !runs(info.native, p) : false);
  // A node with fixed platforms builds only those; without, whatever it can run.
  if (info && node.platforms.length === 0) {
    for (const p of info.native) add(formatPlatform(parsePlatform(p)), false, false);
    for (const p of info.emulated) add(formatPlatform(parsePlatform(p)), false, true);
  }
  const problems: NodeProblem[] = info ? [...info.problems] : [];
  if (info) {
    if (info.engine === undefined && info.polyarch !== version) {
      problems.push({
        what: `polyarch there is ${info.polyarch}, here ${version}`,
        fix: `install polyarch ${version} there`,
      });
    }
    for (const p of node.platforms) {
      if (!runs(info.native, p) && !runs(info.emulated, p)) {
        problems.push({
          what: `${p} is set for this node, but it can run neither natively nor emulated there`,
          fix: `apt-get install qemu-user-static && polyarch binfmt --install ${parsePlatform(p).architecture}`,
        });
      }
    }
  }
  return { node, status, platforms, problems };
}

/** Whether a node of the builder reads registry caches itself (so one this machine cannot read is no error). */
export function nodesReadRegistryCache(builder: BuilderRecord): boolean {
  return builder.nodes.some((n) => nodeDriver(n.driver).readsRegistryCache === true);
}
