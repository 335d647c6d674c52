import type { Command } from "commander";
import { polyarchVersion } from "../version-info.ts";

export function registerVersion(program: Command): void {
  // `-v` is docker run's --volume after `run`: as a version flag it is read only first on the line (main.ts).
  program.version(polyarchVersion, "--version", "print the polyarch version (also -v)");
  program
    .command("version")
    .description("print the polyarch version and the runtime it uses")
    .action(() => {
      process.stdout.write(
        `polyarch ${polyarchVersion} (node ${process.versions.node}, ${process.platform}/${process.arch})\n`,
      );
    });
}
