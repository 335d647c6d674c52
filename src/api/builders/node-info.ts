/**
 * What a node is and can do right now, as `polyarch inspect` reports it and a build routes by: its
 * platforms (native first, then emulated), the versions of polyarch, Node and runc there, and what is
 * missing, each with the command that fixes it. A remote node prints its own (`polyarch node-info`); the
 * client reads that JSON as untrusted input (parseNodeInfo).
 */
import { execFile } from "node:child_process";
import { UserError } from "../../errors/user-error.ts";
import { formatPlatform, parsePlatform } from "../../oci/platform.ts";
import { installNameFor } from "../../worker/emulation/names.ts";
import { detectEmulation } from "../../worker/emulation/runnable.ts";

export interface NodeProblem {
  what: string;
  fix: string;
}

export interface NodeInfo {
  polyarch: string;
  /**
   * A node that is another engine, not polyarch (a BuildKit daemon: `BuildKit v0.24.0`): polyarch, Node and
   * runc do not apply there, and no version needs to match ours.
   */
  engine?: string;
  node: string;
  /** `runc --version`'s first line, or undefined when runc is not installed. */
  runc: string | undefined;
  native: string[];
  emulated: string[];
  problems: NodeProblem[];
}

function runcVersion(): Promise<string | undefined> {
  return new Promise((resolve) => {
    execFile("runc", ["--version"], { timeout: 10_000 }, (err, stdout) => {
      resolve(err ? undefined : stdout.split("\n")[0]?.trim() || undefined);
    });
  });
}

/** This machine's NodeInfo. */
export async function localNodeInfo(polyarchVersion: string): Promise<NodeInfo> {
  const [report, runc] = await Promise.all([detectEmulation(), runcVersion()]);
  const problems: NodeProblem[] = [];
  if (runc === undefined) {
    problems.push({ what: "runc is not installed: RUN steps cannot run", fix: "apt-get install runc" });
  }
  if (!report.binfmt.mounted) {
    problems.push({
      what: "binfmt_misc is not mounted: only native platforms can run",
      fix: "mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc && polyarch binfmt --install all",
    });
  } else if (!report.runnable.some((r) => !r.native) && report.unusable.length === 0) {
    problems.push({
      what: "no QEMU emulators are registered: only native platforms can run",
      fix: "apt-get install qemu-user-static && polyarch binfmt --install all",
    });
  }
  for (const u of report.unusable) {
    const why = u.reason === "disabled" ? "is disabled" : "lacks the F flag, so containers cannot use it";
    problems.push({
      what: `the binfmt_misc handler ${u.handler} (${u.platforms.map(formatPlatform).join(", ")}) ${why}`,
      fix: `polyarch binfmt --install ${installNameFor(u.platforms[0]!)}`,
    });
  }
  return {
    polyarch: polyarchVersion,
    node: process.versions.node,
    runc,
    native: report.runnable.filter((r) => r.native).map((r) => formatPlatform(r.platform)),
    emulated: report.runnable.filter((r) => !r.native).map((r) => formatPlatform(r.platform)),
    problems,
  };
}

const SHORT = /^[\x20-\x7e]{0,200}$/;

/** A node's answer, checked field by field: what a remote machine says is not trusted to be well formed. */
export function parseNodeInfo(text: string, node: string): NodeInfo {
  const bad = (why: string) =>
    new UserError(`node ${node} gave an answer polyarch cannot read (${why})`, {
      hint: "install the same polyarch version there as here (`polyarch version` on both)",
    });
  let v: Record<string, unknown>;
  try {
    v = JSON.parse(text) as Record<string, unknown>;
  } catch {
    throw bad("not JSON");
  }
  if (typeof v !== "object" || v === null) throw bad("not an object");
  const str = (k: string): string => {
    const x = v[k];
    if (typeof x !== "string" || !SHORT.test(x)) throw bad(`no ${k}`);
    return x;
  };
  const platforms = (k: string): string[] => {
    const x = v[k];
    if (!Array.isArray(x) || x.length > 64) throw bad(`no ${k} platforms`);
    return x.map((p) => {
      if (typeof p !== "string" || !SHORT.test(p)) throw bad(`a ${k} platform is not text`);
      try {
        return formatPlatform(parsePlatform(p));
      } catch {
        throw bad(`${JSON.stringify(p)} is not a platform`);
      }
    });
  };
  const problems = v.problems;
  if (!Array.isArray(problems) || problems.length > 64) throw bad("no problem list");
  return {
    polyarch: str("polyarch"),
    node: str("node"),
    runc: v.runc === undefined || v.runc === null ? undefined : str("runc"),
    native: platforms("native"),
    emulated: platforms("emulated"),
    problems: problems.map((p) => {
      const o = p as Record<string, unknown>;
      if (
        typeof o?.what !== "string" ||
        typeof o.fix !== "string" ||
        !SHORT.test(o.what) ||
        !SHORT.test(o.fix)
      )
        throw bad("a problem is not text");
      return { what: o.what, fix: o.fix };
    }),
  };
}
