import { UserError } from "../../errors/user-error.ts";
import { parsePlatform } from "../../oci/platform.ts";
import { formatError } from "../report-error.ts";
import { parseRunArgs } from "./run-args.ts";

/** Runs the container; resolves the exit code polyarch exits with (the container's, or 125 as docker run). */
export async function runAction(args: readonly string[], help: () => void, debug: boolean): Promise<number> {
  const controller = new AbortController();
  const onSignal = () => controller.abort();
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  try {
    const parsed = parseRunArgs(args);
    if (parsed.help) {
      help();
      return 0;
    }
    const [{ runImage }, { createProgress }, { parseEnvFlag, parseVolumeFlag }] = await Promise.all([
      import("../../api/run.ts"),
      import("../../progress/index.ts"),
      import("../../api/run-flags.ts"),
    ]);
    if (parsed.tty && !process.stdin.isTTY) {
      throw new UserError("the input device is not a TTY", {
        hint: "run -t from a terminal, or leave -t out (use -i alone to pipe input in)",
      });
    }
    const env = parsed.env.flatMap((e) => parseEnvFlag(e) ?? []);
    const volumes = [];
    for (const v of parsed.volumes) volumes.push(await parseVolumeFlag(v));
    // Only the container's output belongs on stdout; unpacking a new image's layers is all progress shows.
    const progress = createProgress("quiet", process.stderr);
    try {
      return await runImage({
        name: parsed.name,
        ...(parsed.platform === undefined ? {} : { platform: parsePlatform(parsed.platform) }),
        args: parsed.command,
        ...(parsed.entrypoint === undefined ? {} : { entrypoint: [parsed.entrypoint] }),
        env,
        volumes,
        ...(parsed.interactive ? { stdin: true } : {}),
        ...(parsed.tty ? { tty: true } : {}),
        onOutput: (stream, chunk) => (stream === "stdout" ? process.stdout : process.stderr).write(chunk),
        progress,
        signal: controller.signal,
      });
    } finally {
      await progress.close();
    }
  } catch (e) {
    process.stderr.write(`${formatError(e, debug)}\n`);
    return 125;
  } finally {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
  }
}
