import { type Command, Option } from "commander";
import type { BuildFlags } from "./build-action.ts";

const progressModes = ["auto", "plain", "tty", "rawjson", "quiet"];

export function registerBuild(program: Command): void {
  program
    .command("build")
    .description(
      "build an image for one or more platforms from a Dockerfile (or inspect it: --call outline|targets|check)",
    )
    .argument(
      "[CONTEXT]",
      "build context: a directory, a git URL (https://host/repo.git#ref:subdir, git@host:repo.git), an http(s) tarball URL, or - to read the Dockerfile from stdin",
      ".",
    )
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
    .option(
      "--platform <OS/ARCH[/VARIANT],…>",
      "target platforms, comma-separated or repeated; local is this machine's",
      collect,
      [],
    )
    .option(
      "--build-context <NAME=PATH|docker-image://REF|GIT-URL|TARBALL-URL>",
      "an additional named context",
      collect,
      [],
    )
    .option("-t, --tag <REF>", "name the image (repeatable); with --push, push it there", collect, [])
    .option(
      "-o, --output <SPEC>",
      "where the result goes: type=oci|docker|local|tar|image|registry,dest=…|name=… (repeatable)",
      collect,
      [],
    )
    .option(
      "--builder <NAME>",
      "the builder whose nodes build (default: $POLYARCH_BUILDER, else `polyarch use`'s)",
    )
    .option("--allow-fallback", "when a node of the builder is down or fails, build its platforms on another")
    .option("--push", "push the image to its -t names (shorthand for --output=type=registry)")
    .option(
      "--load",
      "load the image into Docker (DOCKER_HOST, docker context, default socket), else podman (shorthand for --output=type=docker)",
    )
    .option(
      "--iidfile <FILE>",
      "write the image id to FILE (the config digest of a single-platform image, else the index digest)",
    )
    .option(
      "--annotation <[TYPE[PLATFORM],…:]KEY=VALUE>",
      "annotate the image: manifest (default), index, manifest-descriptor, index-descriptor (repeatable)",
      collect,
      [],
    )
    .option(
      "--provenance <true|false|mode=min|max,…>",
      "attach SLSA provenance (default: mode=min on image outputs; BUILDX_NO_DEFAULT_ATTESTATIONS=1 turns it off)",
    )
    .option(
      "--sbom <true|false>",
      "attach an SPDX SBOM of each platform's files (dpkg, apk, npm, Python, Go)",
    )
    .option(
      "--attest <type=provenance|sbom,…>",
      "an attestation, buildx's spelling (repeatable); style=referrers stores them as OCI 1.1 referrers",
      collect,
      [],
    )
    .option("-q, --quiet", "print only the image id (on stdout), and a failed step's output")
    .option("--metadata-file <FILE>", "write build metadata (digest, descriptor, names) as JSON to FILE")
    .option("--no-cache", "run every step, ignoring the build cache")
    .option("--no-cache-filter <STAGE>", "ignore the cache for this stage's steps (repeatable)", collect, [])
    .option(
      "--cache-from <type=local,src=DIR>",
      "use a build cache written by --cache-to (repeatable)",
      collect,
      [],
    )
    .option(
      "--cache-to <type=local,dest=DIR>",
      "write this build's cache as an OCI layout (repeatable; cache-mounts=true: with its cache mounts' contents)",
      collect,
      [],
    )
    .option("--pull", "check the registry for newer base images instead of using resolved ones")
    .option(
      "--secret <id=NAME,src=FILE|env=VAR>",
      "a secret RUN --mount=type=secret can read (repeatable)",
      collect,
      [],
    )
    .option(
      "--ssh <default|ID[=SOCKET|KEY_FILE,…]>",
      "forward an ssh agent (default: $SSH_AUTH_SOCK) or key files to RUN --mount=type=ssh (repeatable)",
      collect,
      [],
    )
    .option("--label <KEY=VALUE>", "add a label to the image (repeatable)", collect, [])
    .option(
      "--insecure-registry <HOST>",
      "allow plain HTTP or an untrusted certificate for this registry",
      collect,
      [],
    )
    .option(
      "--allow <ENTITLEMENT>",
      "grant an entitlement (repeatable or comma-separated): security.insecure lets RUN --security=insecure run, network.host lets RUN --network=host run",
      collect,
      [],
    )
    .option("--add-host <HOST:IP>", "add a line to /etc/hosts of every RUN step (repeatable)", collect, [])
    .option(
      "--ulimit <TYPE=SOFT[:HARD]>",
      "a resource limit for RUN steps, e.g. nofile=1024:4096 (repeatable)",
      collect,
      [],
    )
    .option("--shm-size <SIZE>", "size of /dev/shm in RUN steps, e.g. 128m (default 64m)")
    .option(
      "--test <CMD>",
      "run CMD (/bin/sh -c CMD) in every platform's built image (QEMU for foreign ones); push or export only if it exits 0 on all",
    )
    .option("--call <FUNCTION>", 'what to run: "outline", "targets" or "check" (add ",format=json" for JSON)')
    .option("--check", "shorthand for --call=check")
    .option("--format <FORMAT>", "output format of --call: text (default) or json")
    .option(
      "--progress <MODE>",
      `progress output: ${progressModes.join(", ")} (default: $BUILDKIT_PROGRESS or auto)`,
      process.env.BUILDKIT_PROGRESS || "auto",
    )
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
