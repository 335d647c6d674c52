import type { Command } from "commander";
import { collect } from "../collect.ts";

export interface SaveOptions {
  output?: string;
  platform?: string[];
  format?: string;
}

export interface PushOptions {
  insecureRegistry?: string[];
}

/** The commands of polyarch's local image store (what `-t NAME` keeps): images, tag, rmi, save, push. */
export function registerImages(program: Command): void {
  const isDebug = () => Boolean(program.opts().debug);
  const action = () => import("./images-action.ts");

  program
    .command("images")
    .description(
      "list the images polyarch keeps (built with -t NAME): name, digest, platforms, size, created",
    )
    .option("--format <FORMAT>", "table (default) or json")
    .action(async (opts: { format?: string }) => (await action()).imagesAction(opts));

  program
    .command("tag")
    .description("give a stored image another name")
    .argument("<SOURCE>", "a stored image's name")
    .argument("<TARGET>", "the new name, e.g. registry.example.com/app:1")
    .action(async (source: string, target: string) => (await action()).tagAction(source, target));

  program
    .command("rmi")
    .description("remove names from polyarch's image store (blobs go at the next garbage collection)")
    .argument("<NAME...>", "stored image names")
    .action(async (names: string[]) => (await action()).rmiAction(names));

  program
    .command("save")
    .description("write a stored image to an archive: OCI (every platform) or docker (one platform)")
    .argument("<NAME...>", "stored image names")
    .requiredOption("-o, --output <FILE>", "the archive to write")
    .option("--platform <OS/ARCH[/VARIANT],…>", "only these platforms", collect, [])
    .option("--format <FORMAT>", "oci or docker (default: docker for one platform, else oci)")
    .action(async (names: string[], opts: SaveOptions) => (await action()).saveAction(names, opts));

  program
    .command("push")
    .description("push a stored image to the registry its name names")
    .argument("<NAME>", "a stored image's name, e.g. registry.example.com/app:1")
    .option(
      "--insecure-registry <HOST>",
      "allow plain HTTP or an untrusted certificate for this registry",
      collect,
      [],
    )
    .action(async (name: string, opts: PushOptions) => (await action()).pushAction(name, opts, isDebug()));
}
