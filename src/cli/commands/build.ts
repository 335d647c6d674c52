import { type Command, Option } from "commander";
import type { BuildFlags } from "./build-action.ts";

const progressModes = ["auto", "plain", "tty", "rawjson", "quiet"];

export function registerBuild(program: Command): void {
  program
    .command("build")
    .description(
      "build an image from a Dockerfile; for now only inspects it: --call outline|targets|check (or --check)",
    )
    .argument("[CONTEXT]", "build context directory, or - to read the Dockerfile from stdin", ".")
    .option(
      "-f, --file <PATH>",
      "Dockerfile, relative to the current directory (default: CONTEXT/Dockerfile; - for stdin)",
    )
    .option("--target <STAGE>", "the stage to build (default: the last one)")
    .option(
      "--build-arg <KEY[=VALUE]>",
      "set a build arg; without a value it is taken from the environment",
      collect,
      [],
    )
    .option("--platform <OS/ARCH[/VARIANT],…>", "target platforms, comma-separated or repeated", collect, [])
    .option("--build-context <NAME=PATH|docker-image://REF>", "an additional named context", collect, [])
    .option("--call <FUNCTION>", 'what to run: "outline", "targets" or "check" (add ",format=json" for JSON)')
    .option("--check", "shorthand for --call=check")
    .option("--format <FORMAT>", "output format of --call: text (default) or json")
    .option("--progress <MODE>", `progress output: ${progressModes.join(", ")}`, "auto")
    .addOption(new Option("--print-graph", "print the planned build graph and exit").hideHelp())
    .action(async (context: string, flags: BuildFlags) => {
      // Loaded on use: `polyarch --version` and other commands never pay for the frontend and engine.
      const { runBuild } = await import("./build-action.ts");
      process.exitCode = await runBuild(context, flags);
    });
}

function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}
