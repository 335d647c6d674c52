import type { Command } from "commander";

/** `polyarch run`: a container of a stored image (its arguments are read by run-args.ts, not commander). */
export function registerRun(program: Command): void {
  const run = program
    .command("run")
    .description(
      "run a command in a stored image (built with -t NAME) for one platform, with runc (QEMU for a foreign platform), as docker run --rm does",
    )
    .usage(
      "[--rm] [-i] [-t] [-e KEY=VALUE]… [-v HOST:CONTAINER[:ro]]… [--platform OS/ARCH[/VARIANT]] [--entrypoint CMD] NAME [CMD…]",
    )
    .argument(
      "[NAME [CMD…]]",
      "a stored image's name, then the command (default: the image's Entrypoint and Cmd)",
    )
    .helpOption(false)
    .allowUnknownOption()
    .allowExcessArguments()
    .addHelpText(
      "after",
      `
Options (before NAME; everything after NAME is the command):
  --platform <OS/ARCH[/VARIANT]>  the image's platform to run (default: this machine's)
  --entrypoint <CMD>              replace the image's Entrypoint (and its Cmd)
  -i, --interactive               keep stdin open: the container reads polyarch's stdin
  -t, --tty                       give the container a terminal (polyarch's own must be one)
  -e, --env <KEY=VALUE|KEY>       set a variable (KEY alone passes this shell's value)
  -v, --volume <HOST:CONTAINER[:ro|rw]>
                                  bind a host path (absolute or ./relative, must exist) into the container
  --rm                            accepted for docker run habits: the container is always removed, as a
                                  daemonless tool keeps nothing running; its changes are thrown away
  -h, --help                      show this help

The container gets the image's Env, User and WorkingDir and the host's network, no stdin (without -i) and no tty (without -t); its
stdout and stderr are passed through, and polyarch exits with its exit code (125 when polyarch itself fails).`,
    )
    .action(async (_name: string | undefined, _rest: unknown, command: Command) => {
      const { runAction } = await import("./run-action.ts");
      process.exitCode = await runAction(command.args, () => run.outputHelp(), Boolean(program.opts().debug));
    });
}
