/**
 * `polyarch build --test CMD`: CMD (`/bin/sh -c CMD`) runs in a container of every platform's built image,
 * with the image's Env, User and WorkingDir, before anything is pushed or exported. One failing platform
 * fails the build, naming it, so a multi-platform tag is published only when every platform passes (the
 * seeds' "a multi-arch build succeeds only if building and testing pass for every target").
 */
import { UserError } from "../../errors/user-error.ts";
import type { ImageConfig } from "../../oci/image-config.ts";
import { formatPlatform } from "../../oci/platform.ts";
import type { ResultRef } from "../../solver/types.ts";

export interface TestProgress {
  start(id: string, name: string, platform: string | undefined, emulated?: boolean): void;
  log(id: string, stream: "stdout" | "stderr", data: Uint8Array): void;
  done(id: string, error?: string): void;
}

export interface ImageTestRun {
  command: string;
  refs: readonly ResultRef[];
  /** Each platform's runtime config (Env, User, WorkingDir) is all a test reads of its image. */
  configs: readonly Pick<ImageConfig, "config">[];
  progress: TestProgress;
  signal: AbortSignal;
  timeoutMs?: number;
}

const tailLines = 10;

export async function testImages(run: ImageTestRun): Promise<void> {
  const outcomes = await Promise.allSettled(
    run.refs.map(async (ref, i) => {
      const platform = formatPlatform(ref.platform);
      const id = `test:${platform}`;
      run.progress.start(id, `[${platform}] test: /bin/sh -c ${JSON.stringify(run.command)}`, platform);
      let output = "";
      try {
        const { exitCode } = await ref.run({
          config: run.configs[i]?.config,
          command: { entrypoint: ["/bin/sh", "-c"], args: [run.command] },
          what: `the ${platform} image`,
          signal: run.signal,
          onOutput: (stream, chunk) => {
            output = (output + chunk.toString("utf8")).slice(-8192);
            run.progress.log(id, stream, chunk);
          },
          ...(run.timeoutMs === undefined ? {} : { timeoutMs: run.timeoutMs }),
        });
        run.progress.done(id, exitCode === 0 ? undefined : `exit code: ${exitCode}`);
        return { platform, exitCode, output };
      } catch (e) {
        run.progress.done(id, e instanceof Error ? e.message : String(e));
        throw e;
      }
    }),
  );
  const thrown = outcomes.find((o) => o.status === "rejected");
  if (thrown) throw (thrown as PromiseRejectedResult).reason;
  const failed = outcomes
    .map((o) => (o as PromiseFulfilledResult<{ platform: string; exitCode: number; output: string }>).value)
    .filter((o) => o.exitCode !== 0);
  if (failed.length === 0) return;
  const tails = failed
    .map((f) => {
      const lines = f.output
        .split("\n")
        .filter((l) => l !== "")
        .slice(-tailLines);
      return lines.length === 0
        ? `${f.platform}: no output`
        : `${f.platform}, the last lines of its output:\n${lines.map((l) => `  > ${l}`).join("\n")}`;
    })
    .join("\n");
  throw new UserError(
    `--test ${JSON.stringify(run.command)} failed on ${failed
      .map((f) => `${f.platform} (exit code ${f.exitCode})`)
      .join(", ")}: nothing was pushed or exported`,
    { hint: `${tails}\nfix the image (or the test) and build again` },
  );
}
