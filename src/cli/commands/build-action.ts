import type { PreparedContexts } from "../../api/build/remote-contexts.ts";
import { resolveBuildInputs } from "../../dockerfile/context/build-inputs.ts";
import { parseNamedContexts } from "../../dockerfile/context/named-contexts.ts";
import { checkDockerfile } from "../../dockerfile/lint/check.ts";
import { formatLintText, lintToJson } from "../../dockerfile/lint/format.ts";
import {
  formatOutlineText,
  formatTargetsText,
  outlineToJson,
  targetsToJson,
} from "../../dockerfile/outline/format.ts";
import { outlineDockerfile } from "../../dockerfile/outline/outline.ts";
import { listTargets } from "../../dockerfile/outline/targets.ts";
import { parseDockerfile, syntaxOverride } from "../../dockerfile/parse/index.ts";
import { type PlanNamedContext, planBuild } from "../../dockerfile/plan/index.ts";
import { UserError } from "../../errors/user-error.ts";
import { formatGraph } from "../../graph/index.ts";
import { formatPlatform, hostPlatform, type Platform, parsePlatformList } from "../../oci/platform.ts";
import { parseSecrets } from "../parse-secrets.ts";
import { parseSshFlags } from "../parse-ssh.ts";
import type { ImageBuildFlags } from "./build-image.ts";
import { parseStepOptions } from "./build-step-options.ts";

export interface BuildFlags extends ImageBuildFlags {
  file?: string;
  target?: string;
  buildArg?: string[];
  platform?: string[];
  buildContext?: string[];
  call?: string;
  check?: boolean;
  format?: string;
  progress: string;
  printGraph?: boolean;
}

/** What `--call` asks for, read like buildx: `NAME[,format=text|json][,ignorestatus=true]`. */
export interface CallRequest {
  name: "build" | "outline" | "targets" | "check";
  format: "text" | "json";
  ignoreStatus: boolean;
}

export const progressModes = ["auto", "plain", "tty", "rawjson", "quiet"];

export async function runBuild(context: string, flags: BuildFlags): Promise<number> {
  if (!progressModes.includes(flags.progress)) {
    throw new UserError(`invalid --progress ${JSON.stringify(flags.progress)}`, {
      hint: `use one of: ${progressModes.join(", ")}`,
    });
  }
  const call = parseCall(flags);
  const buildArgs = parseBuildArgs(flags.buildArg ?? []);
  const platforms = flags.platform
    ? parsePlatformList(localPlatform(flags.platform.join(",")))
    : [hostPlatform()];
  const namedContexts = await parseNamedContexts(flags.buildContext ?? []);
  if (call.name === "build" && !flags.printGraph) {
    const { buildImage } = await import("./build-image.ts");
    return buildImage(context, flags, platforms, buildArgs, namedContexts, process.argv.includes("--debug"));
  }

  // The Dockerfile-only calls read remote contexts too (the Dockerfile may be in one), fetched as a build would.
  const { defaultStateDir } = await import("../../content/paths.ts");
  const { planNamedContexts, prepareContexts } = await import("../../api/build/remote-contexts.ts");
  const contexts = await prepareContexts(context, namedContexts, defaultStateDir());
  try {
    return await runDockerfileCall(
      call,
      flags,
      contexts,
      await planNamedContexts(contexts.named),
      platforms,
      buildArgs,
    );
  } finally {
    await contexts.discard();
  }
}

async function runDockerfileCall(
  call: CallRequest,
  flags: BuildFlags,
  contexts: PreparedContexts,
  planContexts: PlanNamedContext[],
  platforms: Platform[],
  buildArgs: Record<string, string>,
): Promise<number> {
  const inputs = await resolveBuildInputs({
    context: contexts.context,
    ...(flags.file === undefined ? {} : { file: flags.file }),
    ...(contexts.dockerfileCwd ? { cwd: contexts.dockerfileCwd } : {}),
  });
  const ast = parseDockerfile(inputs.dockerfile.text, {
    file: inputs.dockerfile.displayName,
    ...syntaxOverride(buildArgs),
  });
  const platform: Platform = platforms[0]!;
  const common = {
    buildArgs,
    platform,
    buildPlatform: hostPlatform(),
    ...(flags.target === undefined ? {} : { target: flags.target }),
  };

  if (flags.printGraph) {
    // A debugging aid: the planner's graph for every platform, with each platform's output marked.
    const plan = await planBuild(ast, {
      platforms,
      buildPlatform: common.buildPlatform,
      buildArgs,
      ...(flags.target === undefined ? {} : { target: flags.target }),
      namedContexts: planContexts,
      contextExcludePatterns: contexts.mainIsRemote ? [] : inputs.ignore.patterns,
      stepOptions: parseStepOptions(flags),
    });
    const outputs = plan.platforms.map((p) => ({ label: formatPlatform(p.platform), digest: p.output }));
    process.stdout.write(formatGraph(plan.graph, outputs));
    return 0;
  }

  const write = (text: string) => process.stdout.write(text);
  switch (call.name) {
    case "outline": {
      const outline = outlineDockerfile(ast, common);
      write(
        call.format === "json"
          ? `${JSON.stringify(outlineToJson(outline), null, 2)}\n`
          : formatOutlineText(outline),
      );
      return 0;
    }
    case "targets": {
      const targets = listTargets(ast);
      write(
        call.format === "json"
          ? `${JSON.stringify(targetsToJson(targets), null, 2)}\n`
          : formatTargetsText(targets),
      );
      return 0;
    }
    case "check": {
      const report = await checkDockerfile(ast, {
        ...common,
        namedContexts: planContexts,
        ...(contexts.mainIsRemote ? {} : { contextIgnores: inputs.ignore.ignores }),
        provided: {
          secrets: new Set(Object.keys(parseSecrets(flags.secret ?? []))),
          ssh: new Set(parseSshFlags(flags.ssh ?? []).map((f) => f.id)),
          allow: new Set((flags.allow ?? []).flatMap((v) => v.split(",")).map((v) => v.trim())),
        },
      });
      write(
        call.format === "json"
          ? `${JSON.stringify(lintToJson(report, inputs.dockerfile.text), null, 2)}\n`
          : formatLintText(report, inputs.dockerfile.text),
      );
      const failed = report.findings.length > 0 || report.buildError !== undefined;
      return failed && !call.ignoreStatus ? 1 : 0;
    }
    default:
      return 0;
  }
}

/** `--platform local` (in a list too) is the build machine's own platform, as buildx reads it. */
function localPlatform(list: string): string {
  return list
    .split(",")
    .map((p) => (p.trim() === "local" ? formatPlatform(hostPlatform()) : p))
    .join(",");
}

/** Reads `--call` (and its `--check` shorthand and `--format`). */
export function parseCall(flags: Pick<BuildFlags, "call" | "check" | "format">): CallRequest {
  const request: CallRequest = { name: "build", format: "text", ignoreStatus: false };
  if (flags.check && flags.call !== undefined && !/^(check|lint)\b/.test(flags.call)) {
    throw new UserError("--check cannot be combined with another --call", {
      hint: "--check means --call=check",
    });
  }
  const text = flags.call ?? (flags.check ? "check" : "build");
  let named = false;
  for (const field of text.split(",")) {
    const f = field.trim();
    if (f === "") continue;
    const eq = f.indexOf("=");
    if (eq < 0) {
      if (named) throw badCall(text, "it names more than one function");
      named = true;
      const name = f === "lint" ? "check" : f;
      if (name !== "build" && name !== "outline" && name !== "targets" && name !== "check") {
        throw badCall(text, `unknown function ${JSON.stringify(f)}`);
      }
      request.name = name;
      continue;
    }
    const key = f.slice(0, eq);
    const value = f.slice(eq + 1);
    if (key === "format") request.format = parseFormat(value);
    else if (key === "ignorestatus") {
      if (!/^(true|false|1|0)$/i.test(value)) throw badCall(text, `ignorestatus must be true or false`);
      request.ignoreStatus = /^(true|1)$/i.test(value);
    } else throw badCall(text, `unknown field ${JSON.stringify(key)}`);
  }
  if (flags.format !== undefined) request.format = parseFormat(flags.format);
  return request;
}

function parseFormat(value: string): "text" | "json" {
  if (value === "json" || value === "text") return value;
  throw new UserError(`invalid output format ${JSON.stringify(value)}`, { hint: "use text or json" });
}

function badCall(text: string, why: string): UserError {
  return new UserError(`invalid --call ${JSON.stringify(text)}: ${why}`, {
    hint: "use outline, targets or check, optionally followed by ,format=json or ,ignorestatus=true",
  });
}

/** `--build-arg K=V`; a bare `K` takes the variable from the environment, or is left out when unset (as buildx). */
export function parseBuildArgs(
  values: readonly string[],
  env: NodeJS.ProcessEnv = process.env,
): Record<string, string> {
  const out: Record<string, string> = {};
  for (const v of values) {
    const eq = v.indexOf("=");
    const key = eq < 0 ? v : v.slice(0, eq);
    if (key === "") {
      throw new UserError(`invalid --build-arg ${JSON.stringify(v)}: empty name`, {
        hint: "write --build-arg NAME=VALUE",
      });
    }
    if (eq >= 0) out[key] = v.slice(eq + 1);
    else if (env[key] !== undefined) out[key] = env[key];
  }
  return out;
}
