import { UserError } from "../errors/user-error.ts";
import type { Vertex } from "../graph/types.ts";
import type { ChainRecord } from "./cache-index.ts";
import { metaLocation } from "./vertex-info.ts";

/**
 * The result of a merge (its inputs' directories stacked, COPY --link) or a diff (what input 1 adds on
 * top of input 0): computed from the inputs' chains, nothing runs and nothing is stored.
 */
export function combineChains(v: Vertex, inputs: readonly ChainRecord[]): ChainRecord {
  const created = inputs.at(-1)?.created;
  const withTime = (chain: string[]): ChainRecord => (created === undefined ? { chain } : { chain, created });
  if (v.op.kind === "merge") return withTime(inputs.flatMap((i) => i.chain));
  const lower = inputs[0]?.chain ?? [];
  const upper = inputs[1]?.chain ?? [];
  if (lower.length <= upper.length && lower.every((n, i) => upper[i] === n))
    return withTime(upper.slice(lower.length));
  const location = metaLocation(v.meta);
  throw new UserError(
    "a diff between unrelated filesystems is not supported yet",
    location ? { location } : {},
  );
}
