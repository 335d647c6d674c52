import type { FileOwner } from "../../graph/types.ts";

/** `user`, `user:group`, `uid:gid` (as `--chown` and USER take them); names are resolved by the worker. */
export function parseOwner(value: string): FileOwner {
  const colon = value.indexOf(":");
  if (colon < 0) return { user: value };
  const user = value.slice(0, colon);
  const group = value.slice(colon + 1);
  return group === "" ? { user } : { user, group };
}
