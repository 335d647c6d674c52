import type { Command } from "commander";
import { collect } from "../collect.ts";

export interface DuOptions {
  verbose?: boolean;
  filter: string[];
}

export interface PruneOptions {
  all?: boolean;
  filter: string[];
  keepStorage?: string;
  force?: boolean;
  verbose?: boolean;
}

/** `polyarch du` and `polyarch prune`, spelled as `docker buildx du` and `docker buildx prune`. */
export function registerStore(program: Command): void {
  const action = () => import("./store-action.ts");
  program
    .command("du")
    .description("show what the state directory holds: build cache, layers, cache mounts, stored images")
    .option("--verbose", "every record with its details")
    .option("--filter <FILTER>", "only records matching it: type=T, until=24h, id=ID", collect, [])
    .action(async (opts: DuOptions) => (await action()).duAction(opts));
  program
    .command("prune")
    .description("remove build cache (stored images stay: polyarch rmi removes those)")
    .option("-a, --all", "remove all build cache, not only what no stored image needs")
    .option("--filter <FILTER>", "only records matching it: type=T, until=24h, id=ID", collect, [])
    .option("--keep-storage <SIZE>", "stop once the state directory holds no more than SIZE (e.g. 10GB)")
    .option("-f, --force", "do not ask for confirmation")
    .option("--verbose", "list every removed record")
    .action(async (opts: PruneOptions) => (await action()).pruneAction(opts));
}
