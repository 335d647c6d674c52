/**
 * Builds a hostile context through the real CLI into a local rootfs output, with a state directory of its
 * own, so an attack can look at the host (the canaries) and at what the image got.
 */
import { mkdir, mkdtemp, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { polyarch } from "../../support/cli.ts";

export type ContextFile = string | Buffer | { symlink: string };

export interface BuildOutcome {
  code: number;
  stderr: string;
  /** The local output's root (the image's files), when the build succeeded. */
  out: string;
}

export interface AttackWorkspace extends AsyncDisposable {
  dir: string;
  /** Writes a context (a Dockerfile and files; `{ symlink }` makes a link) and builds it. */
  build(
    dockerfile: string,
    files?: Record<string, ContextFile>,
    env?: Record<string, string>,
  ): Promise<BuildOutcome>;
}

export async function attackWorkspace(): Promise<AttackWorkspace> {
  const dir = await mkdtemp(join(tmpdir(), "polyarch-attack-"));
  const state = join(dir, "state");
  let n = 0;
  return {
    dir,
    async build(dockerfile, files = {}, env = {}) {
      const context = join(dir, `context-${++n}`);
      const out = join(dir, `out-${n}`);
      await mkdir(context, { recursive: true });
      await writeFile(join(context, "Dockerfile"), dockerfile);
      for (const [path, content] of Object.entries(files)) {
        const at = join(context, path);
        await mkdir(dirname(at), { recursive: true });
        if (typeof content === "object" && !Buffer.isBuffer(content)) await symlink(content.symlink, at);
        else await writeFile(at, content);
      }
      const r = await polyarch(["build", "--progress", "plain", "-o", `type=local,dest=${out}`, context], {
        env: { POLYARCH_ROOT: state, DOCKER_CONFIG: state, ...env },
      });
      return { code: r.code, stderr: r.stderr, out };
    },
    [Symbol.asyncDispose]: () => rm(dir, { recursive: true, force: true }),
  };
}
