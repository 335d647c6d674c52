import type { Command } from "commander";
import { polyarchVersion } from "../version-info.ts";

export function registerVersion(program: Command): void {
  program.version(polyarchVersion, "-v, --version", "print the polyarch version");
  program
    .command("version")
    .description("print the polyarch version and the runtime it uses")
    .action(() => {
      process.stdout.write(
        `polyarch ${polyarchVersion} (node ${process.versions.node}, ${process.platform}/${process.arch})\n`,
      );
    });
}
