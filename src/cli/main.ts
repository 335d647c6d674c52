import { Command, CommanderError } from "commander";
import { registerCommands } from "./commands/index.ts";
import { formatError } from "./report-error.ts";

const program = new Command("polyarch")
  .description("Daemonless multi-architecture OCI image builder")
  .option("--debug", "show detail (stack traces, HTTP exchanges with secrets removed) on errors")
  .showHelpAfterError()
  .exitOverride();
registerCommands(program);

// `polyarch -v` is --version (as `docker -v`); anywhere else `-v` belongs to a command (`run -v HOST:DIR`).
if (process.argv[2] === "-v") process.argv[2] = "--version";
const debug = process.argv.includes("--debug");
try {
  await program.parseAsync(process.argv);
} catch (e) {
  if (e instanceof CommanderError) {
    process.exitCode = e.exitCode;
  } else {
    process.stderr.write(`${formatError(e, debug)}\n`);
    process.exitCode = 1;
  }
}
