import { posix } from "node:path";
import { addVertex } from "../../graph/build.ts";
import type { ExecMount, ExecOp } from "../../graph/types.ts";
import type { Digest } from "../../oci/digest.ts";
import type { Flag, RunInstruction } from "../ast.ts";
import { dockerfileError } from "../errors.ts";
import { meta, shellOf, upperKeyword } from "./dispatch.ts";
import { displayText, expandAt } from "./expand.ts";
import { cleanAbsolute } from "./paths.ts";
import { type MountSpec, MountSyntaxError, parseMount } from "./run-mounts.ts";
import { fromSourceVertex, localContextVertex, scratchVertex } from "./sources.ts";
import {
  type BuildArgEntry,
  commitHistory,
  type PlatformContext,
  type StageState,
  stepName,
} from "./state.ts";

/** Where a RUN's single shebang here-document is mounted to be executed. */
const PIPES_DIR = "/dev/pipes";

export function dispatchRun(ctx: PlatformContext, state: StageState, instr: RunInstruction): void {
  const inputs: Digest[] = [state.vertex];
  const inputIndex = (d: Digest): number => {
    const i = inputs.indexOf(d);
    if (i >= 0) return i;
    inputs.push(d);
    return inputs.length - 1;
  };
  const mounts: ExecMount[] = [];
  let nameSuffix = "";
  let args: string[];
  const command = instr.command;
  if (command.form === "exec") {
    args = [...command.args];
  } else {
    let script = command.text;
    if (instr.heredocs.length > 0) {
      const only = instr.heredocs[0]!;
      if (instr.heredocs.length === 1 && /^\d*<<-?\S+$/.test(command.text.trim())) {
        const data = only.chomp ? only.content.replace(/^\t+/gm, "") : only.content;
        if (data.startsWith("#!")) {
          // A script with its own interpreter: write it to a file and let the shell execute that file.
          const file = addVertex(
            ctx.graph,
            { kind: "file", actions: [{ action: "mkfile", path: `/${only.name}`, mode: 0o755, data }] },
            [scratchVertex(ctx)],
            { name: "preparing inline document" },
          );
          mounts.push({
            type: "bind",
            target: PIPES_DIR,
            input: inputIndex(file),
            source: "/",
            readonly: true,
          });
          script = posix.join(PIPES_DIR, only.name);
        } else {
          script = data;
        }
        nameSuffix = ` (${summarizeHeredoc(only.content)})`;
      } else {
        // Several documents, or one inside a longer command: hand the shell the text as it would read it.
        script = command.text + instr.heredocs.map((h) => `\n${h.content}${h.name}`).join("");
      }
    }
    args = [...shellOf(state), script];
  }

  let sshCount = 0;
  for (const flag of instr.mounts) {
    const spec = parseMountFlag(ctx, state, flag);
    mounts.push(toExecMount(ctx, state, spec, flag, inputIndex, sshCount));
    if (spec.type === "ssh") sshCount++;
  }

  const op: ExecOp = {
    kind: "exec",
    args,
    env: state.env.toStrings(),
    cwd: state.cwd,
    user: state.user,
    mounts,
    network: networkMode(ctx, instr.network),
    security: securityMode(ctx, instr.security),
    platform: state.platform,
    ...ctx.stepOptions,
  };
  const name = stepName(ctx, state, upperKeyword(displayText(ctx, instr.line, state.env, true)) + nameSuffix);
  state.vertex = addVertex(ctx.graph, op, inputs, meta(ctx, state, instr, name));
  state.layerVertices.push(state.vertex);
  commitHistory(state, `RUN ${runCommandString(args, state.buildArgs, state)}`, true, true);
}

/** BuildKit's history text: the declared ARGs as `|N K=V …` (their values as the RUN saw them), then the command. */
function runCommandString(
  args: readonly string[],
  buildArgs: readonly BuildArgEntry[],
  state: StageState,
): string {
  // A Map keeps each key where it first appeared, with the value of its last declaration.
  const values = new Map<string, string>();
  for (const a of buildArgs) values.set(a.key, state.env.get(a.key) ?? a.value ?? "");
  const parts: string[] = [];
  if (values.size > 0) {
    parts.push(`|${values.size}`);
    for (const [k, v] of values) parts.push(`${k}=${v}`);
  }
  for (const a of args) parts.push(a);
  return parts.join(" ");
}

function summarizeHeredoc(doc: string): string {
  const lines = doc.trim().replaceAll("\r\n", "\n").split("\n");
  return lines.length > 1 ? `${lines[0]}...` : (lines[0] ?? "");
}

function parseMountFlag(ctx: PlatformContext, state: StageState, flag: Flag): MountSpec {
  const at = flag.valuePos ?? flag.pos;
  if (flag.value === undefined || flag.value === "") {
    throw dockerfileError("--mount needs a value", ctx.source, flag.pos, {
      hint: "e.g. --mount=type=cache,target=/root/.cache",
    });
  }
  try {
    return parseMount(flag.value, (word) => expandAt(ctx, word, state.env, at));
  } catch (e) {
    if (e instanceof MountSyntaxError) {
      // BuildKit's words alone (`unsupported mount type "foo"`); the caret points at the --mount flag.
      throw dockerfileError(e.message, ctx.source, at, e.hint === undefined ? {} : { hint: e.hint });
    }
    throw e;
  }
}

function toExecMount(
  ctx: PlatformContext,
  state: StageState,
  spec: MountSpec,
  flag: Flag,
  inputIndex: (d: Digest) => number,
  sshIndex: number,
): ExecMount {
  const at = flag.valuePos ?? flag.pos;
  const absolute = (p: string): string => {
    const abs = cleanAbsolute(p.startsWith("/") ? p : posix.join("/", state.cwd, p));
    // An empty target is the working directory; BuildKit names the resolved path, so do we.
    if (abs === "/")
      throw dockerfileError(`invalid mount target "/"`, ctx.source, at, {
        hint: "mount at a directory other than / (give target=, or set a WORKDIR)",
      });
    return abs;
  };
  const source = cleanAbsolute(spec.source ?? "/");
  switch (spec.type) {
    case "bind": {
      const from =
        spec.from === undefined
          ? localContextVertex(
              ctx,
              "context",
              ctx.contextExcludePatterns,
              source === "/" ? [] : [source.slice(1)],
            )
          : fromSourceVertex(ctx, state, spec.from, at, "from=");
      return {
        type: "bind",
        target: absolute(spec.target ?? ""),
        input: inputIndex(from),
        source,
        readonly: spec.readonly,
      };
    }
    case "cache": {
      const target = absolute(spec.target ?? "");
      // NUL separates an id from its platform in the cache directory's name (solver/cache-mount-key.ts).
      if (spec.id?.includes("\u0000"))
        throw dockerfileError("--mount: a cache id may not contain a NUL character", ctx.source, at, {
          hint: "give the cache mount a plain name, e.g. id=gocache",
        });
      const mount: ExecMount = {
        type: "cache",
        target,
        id: spec.id || target,
        sharing: spec.sharing ?? "shared",
        // Platforms keep their own directories (their binaries differ) unless the Dockerfile asks for one.
        ...(spec.id && spec.sharing === "shared" ? { acrossPlatforms: true as const } : {}),
        readonly: spec.readonly,
        source,
        mode: spec.mode ?? 0o755,
        uid: spec.uid ?? 0,
        gid: spec.gid ?? 0,
      };
      if (spec.from !== undefined)
        mount.input = inputIndex(fromSourceVertex(ctx, state, spec.from, at, "from="));
      return mount;
    }
    case "tmpfs":
      return {
        type: "tmpfs",
        target: absolute(spec.target ?? ""),
        ...(spec.size === undefined ? {} : { size: spec.size }),
      };
    case "secret": {
      const id = spec.id ?? spec.source ?? (spec.target ? posix.basename(spec.target) : undefined);
      if (!id) {
        throw dockerfileError("--mount: a secret mount needs an id or a target", ctx.source, at, {
          hint: "e.g. --mount=type=secret,id=npmrc,target=/root/.npmrc",
        });
      }
      const target = spec.target
        ? absolute(spec.target)
        : spec.env === undefined
          ? `/run/secrets/${id}`
          : undefined;
      return {
        type: "secret",
        id,
        ...(target === undefined ? {} : { target }),
        ...(spec.env === undefined ? {} : { env: spec.env }),
        required: spec.required,
        mode: spec.mode ?? 0o400,
        uid: spec.uid ?? 0,
        gid: spec.gid ?? 0,
      };
    }
    case "ssh":
      return {
        type: "ssh",
        id: spec.id || "default",
        target: spec.target ? absolute(spec.target) : `/run/buildkit/ssh_agent.${sshIndex}`,
        required: spec.required,
        mode: spec.mode ?? 0o600,
        uid: spec.uid ?? 0,
        gid: spec.gid ?? 0,
      };
  }
}

function networkMode(ctx: PlatformContext, flag: Flag | undefined): ExecOp["network"] {
  if (!flag) return "default";
  const v = flag.value ?? "";
  if (v === "default" || v === "none" || v === "host") return v;
  throw dockerfileError(`invalid network mode "${v}"`, ctx.source, flag.valuePos ?? flag.pos, {
    hint: "use --network=default, none or host",
  });
}

function securityMode(ctx: PlatformContext, flag: Flag | undefined): ExecOp["security"] {
  if (!flag) return "sandbox";
  const v = flag.value ?? "";
  if (v === "sandbox" || v === "insecure") return v;
  throw dockerfileError(`unsupported security mode "${v}"`, ctx.source, flag.valuePos ?? flag.pos, {
    hint: "use --security=sandbox or insecure",
  });
}
