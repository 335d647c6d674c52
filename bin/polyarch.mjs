#!/usr/bin/env node
// `--version` is answered without loading the CLI at all; everything else loads the bundled CLI, whose
// commands import their heavy parts only when they run. The compile cache makes repeated starts cheap.
import { readFileSync } from "node:fs";
import module from "node:module";

const args = process.argv.slice(2);
if (args.length === 1 && (args[0] === "--version" || args[0] === "-v")) {
  const pkg = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8"));
  process.stdout.write(`${pkg.version}\n`);
} else {
  module.enableCompileCache?.();
  await import("../dist/polyarch.mjs");
}
