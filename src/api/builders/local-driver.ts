import { UserError } from "../../errors/user-error.ts";
import { type NodeDriver, registerNodeDriver } from "./node-driver.ts";
import { localNodeInfo } from "./node-info.ts";

/** This machine: builds run in the polyarch process itself, on its own state directory. */
export const localDriver: NodeDriver = {
  name: "local",
  endpoint(given) {
    if (given !== undefined && given !== "local") {
      throw new UserError(`the local driver takes no endpoint (got ${JSON.stringify(given)})`, {
        hint: "drop the endpoint, or use --driver ssh with ssh://user@host",
      });
    }
    return "local";
  },
  async probe(_node, options) {
    return { ok: true, info: await localNodeInfo(options.version) };
  },
};

registerNodeDriver(localDriver);
