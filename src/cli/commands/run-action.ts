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
    const [{ runImage }, { createProgress }] = await Promise.all([
      import("../../api/run.ts"),
      import("../../progress/index.ts"),
    ]);
    // Only the container's output belongs on stdout; unpacking a new image's layers is all progress shows.
    const progress = createProgress("quiet", process.stderr);
    try {
      return await runImage({
        name: parsed.name,
        ...(parsed.platform === undefined ? {} : { platform: parsePlatform(parsed.platform) }),
        args: parsed.command,
        ...(parsed.entrypoint === undefined ? {} : { entrypoint: [parsed.entrypoint] }),
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
