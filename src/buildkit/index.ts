/**
 * A BuildKit daemon as a polyarch node: the entry the builders work plugs in as the `remote` driver.
 *
 *   const node = await inspectBuildKitNode(endpointFromDriverOpts("tcp://bk:1234", { cacert, cert, key }));
 *   const result = await buildWithBuildKit({ node: "bk-arm64", endpoint, contextDir, platforms, output, … });
 */
export {
  type BuildKitBuildRequest,
  type BuildKitBuildResult,
  type BuildKitOutput,
  buildWithBuildKit,
} from "./build.ts";
export { ControlClient } from "./control-client.ts";
export {
  type BuildKitAddress,
  type BuildKitEndpoint,
  endpointFromDriverOpts,
  formatBuildKitAddress,
  parseBuildKitAddress,
} from "./endpoint.ts";
export {
  type BuildKitNodeInfo,
  type BuildKitNodeStatus,
  inspectBuildKitNode,
  probeBuildKitNode,
} from "./node.ts";
export type { OciResult } from "./oci-result.ts";
export type { SyncCounters } from "./session/filesync.ts";
export type { SecretValue } from "./session/secrets.ts";
export type { CacheEntry } from "./wire.ts";
