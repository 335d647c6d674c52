import type { Command } from "commander";

export interface BinfmtOptions {
  install?: string;
  uninstall?: string;
  format?: string;
}

export function registerBinfmt(program: Command): void {
  program
    .command("binfmt")
    .description("list the platforms RUN steps can run on here, and register QEMU emulators for others")
    .option(
      "--install <list>",
      "register emulators (root): all, or a comma-separated list such as arm64,arm,riscv64",
    )
    .option("--uninstall <list>", "remove registered handlers (root), e.g. qemu-aarch64 or arm64")
    .option("--format <format>", "output format: pretty (default) or json")
    .action(async (opts: BinfmtOptions) => (await import("./binfmt-action.ts")).binfmtAction(opts));
}
