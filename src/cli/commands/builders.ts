import type { Command } from "commander";
import { collect } from "../collect.ts";

export interface CreateFlags {
  name?: string;
  driver?: string;
  driverOpt: string[];
  platform: string[];
  node?: string;
  append?: boolean;
  leave?: boolean;
  use?: boolean;
  bootstrap?: boolean;
}

/** Builder instances, as buildx has them: create, ls, use, inspect, rm, stop (and what a node answers). */
export function registerBuilders(program: Command): void {
  const action = () => import("./builders-action.ts");

  program
    .command("create")
    .description("create a builder (a set of nodes, each building the platforms it runs), or change one")
    .argument(
      "[ENDPOINT]",
      "where the node is: ssh://user@host[:port] (ssh), unix:///path or tcp://host:port (remote: BuildKit); none for local",
    )
    .option("--name <NAME>", "the builder's name (default: a new random one)")
    .option(
      "--driver <DRIVER>",
      "local (this machine), ssh (polyarch over ssh) or remote (a BuildKit daemon) (default: from the endpoint)",
    )
    .option(
      "--driver-opt <KEY=VALUE,…>",
      "driver options: remote takes cacert=, cert=, key= (PEM files) and servername= for TLS",
      collect,
      [],
    )
    .option(
      "--platform <OS/ARCH[/VARIANT],…>",
      "platforms this node builds (default: what it runs)",
      collect,
      [],
    )
    .option("--node <NODE>", "the node to create or change (default: NAME0, NAME1, …)")
    .option("--append", "add a node to an existing builder")
    .option("--leave", "remove the node named by --node from the builder")
    .option("--use", "make it the builder builds use")
    .option("--bootstrap", "check that every node answers and can build, after creating")
    .action(async (endpoint: string | undefined, opts: CreateFlags) =>
      (await action()).createAction(endpoint, opts),
    );

  program
    .command("ls")
    .description("list builders and their nodes: status, polyarch version, platforms (native, then emulated)")
    .option("--format <FORMAT>", "table (default) or json")
    .action(async (opts: { format?: string }) => (await action()).lsAction(opts));

  program
    .command("use")
    .description("make a builder the one builds use when given no --builder")
    .argument("<NAME>", "a builder's name (default is this machine)")
    .option("--default", "the same as without it: there are no Docker contexts to set it for")
    .action(async (name: string) => (await action()).useAction(name));

  program
    .command("inspect")
    .description("show a builder's nodes: whether each answers, its platforms, polyarch/Node/runc versions")
    .argument("[NAME]", "a builder's name (default: the current one)")
    .option("--bootstrap", "fail unless every node can build, saying what to install where")
    .action(async (name: string | undefined, opts: { bootstrap?: boolean }) =>
      (await action()).inspectAction(name, opts),
    );

  program
    .command("rm")
    .description("remove a builder (nothing on its nodes is touched)")
    .argument("<NAME...>", "builders' names")
    .action(async (names: string[]) => (await action()).rmAction(names));

  program
    .command("stop")
    .description("stop a builder: polyarch nodes run nothing between builds, so this only checks the name")
    .argument("[NAME]", "a builder's name (default: the current one)")
    .action(async (name: string | undefined) => (await action()).stopAction(name));

  // The node's end of a build on an ssh node (the wire protocol on stdin/stdout); not for people.
  program.command("node-serve", { hidden: true }).action(async () => (await action()).nodeServeAction());

  // What an ssh node answers `polyarch inspect` with (JSON); not for people.
  program.command("node-info", { hidden: true }).action(async () => (await action()).nodeInfoAction());
}
