import type { Command } from "commander";
import { registerBinfmt } from "./binfmt.ts";
import { registerBuild } from "./build.ts";
import { registerBuilders } from "./builders.ts";
import { registerImages } from "./images.ts";
import { registerImagetools } from "./imagetools.ts";
import { registerRun } from "./run.ts";
import { registerStore } from "./store.ts";
import { registerVersion } from "./version.ts";

/** Every CLI command registers itself here; one file per command under commands/. */
export function registerCommands(program: Command): void {
  registerVersion(program);
  registerImagetools(program);
  registerBinfmt(program);
  registerBuild(program);
  registerImages(program);
  registerRun(program);
  registerBuilders(program);
  registerStore(program);
}
