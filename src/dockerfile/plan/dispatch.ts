import { addVertex } from "../../graph/build.ts";
import type {
  ArgInstruction,
  CmdInstruction,
  EntrypointInstruction,
  EnvInstruction,
  ExposeInstruction,
  Instruction,
  LabelInstruction,
  StopsignalInstruction,
  UserInstruction,
  VolumeInstruction,
  WorkdirInstruction,
} from "../ast.ts";
import { dockerfileError } from "../errors.ts";
import { dispatchCopy } from "./dispatch-copy.ts";
import { dispatchRun } from "./dispatch-run.ts";
import { setEnvString } from "./env-list.ts";
import { displayText, expandAt, expandWordsAt } from "./expand.ts";
import { goList, goQuoteList } from "./go-format.ts";
import { dispatchHealthcheck } from "./healthcheck.ts";
import { parseOwner } from "./owner.ts";
import { resolveWorkdir } from "./paths.ts";
import { parsePortSpec } from "./ports.ts";
import { isValidSignal } from "./signals.ts";
import { commitHistory, type PlatformContext, type StageState, stepName } from "./state.ts";

/** The shell BuildKit wraps shell-form commands in: the image's SHELL, else the OS's default. */
export function shellOf(state: StageState): string[] {
  if (state.image.config.Shell?.length) return state.image.config.Shell;
  return state.image.os === "windows" ? ["cmd", "/S", "/C"] : ["/bin/sh", "-c"];
}

/** Applies one instruction to the stage's state: graph vertices, image config and history. */
export function dispatchInstruction(ctx: PlatformContext, state: StageState, instr: Instruction): void {
  switch (instr.keyword) {
    case "ARG":
      dispatchArg(ctx, state, instr);
      return;
    case "ENV":
      dispatchEnv(ctx, state, instr);
      return;
    case "LABEL":
      dispatchLabel(ctx, state, instr);
      return;
    case "RUN":
      dispatchRun(ctx, state, instr);
      return;
    case "COPY":
    case "ADD":
      dispatchCopy(ctx, state, instr);
      return;
    case "WORKDIR":
      dispatchWorkdir(ctx, state, instr);
      return;
    case "USER":
      dispatchUser(ctx, state, instr);
      return;
    case "EXPOSE":
      dispatchExpose(ctx, state, instr);
      return;
    case "VOLUME":
      dispatchVolume(ctx, state, instr);
      return;
    case "STOPSIGNAL":
      dispatchStopsignal(ctx, state, instr);
      return;
    case "SHELL":
      state.image.config.Shell = [...instr.command.args];
      commitHistory(state, `SHELL ${goList(instr.command.args)}`, false, false);
      return;
    case "CMD":
      dispatchCmd(state, instr);
      return;
    case "ENTRYPOINT":
      dispatchEntrypoint(state, instr);
      return;
    case "HEALTHCHECK":
      dispatchHealthcheck(ctx, state, instr);
      return;
    case "ONBUILD":
      // Stored for images built FROM this one; BuildKit writes no history entry for it.
      state.image.config.OnBuild = [...(state.image.config.OnBuild ?? []), instr.expression];
      return;
    case "MAINTAINER":
      state.image.author = instr.name.value;
      commitHistory(state, `MAINTAINER ${instr.name.value}`, false, false);
      return;
    case "FROM":
      throw dockerfileError("FROM cannot appear inside a stage here", ctx.source, instr.pos);
  }
}

/**
 * ARG inside a stage: the value is the --build-arg if given, else the default (expanded), else the global
 * ARG's value (automatic platform args included). A declared value becomes visible to expansion and to RUN
 * (replacing an ENV of the same name set before it, as BuildKit does).
 */
function dispatchArg(ctx: PlatformContext, state: StageState, instr: ArgInstruction): void {
  const parts: string[] = [];
  for (const decl of instr.declarations) {
    const fromCli = Object.hasOwn(ctx.buildArgs, decl.name);
    let value: string | undefined;
    if (fromCli) value = ctx.buildArgs[decl.name];
    else if (decl.defaultValue !== undefined)
      value = expandAt(ctx, decl.defaultValue, state.env, decl.valuePos ?? decl.pos);
    else value = ctx.globalArgs.get(decl.name);
    if (value !== undefined) state.env.set(decl.name, value);
    state.buildArgs.push({ key: decl.name, value });
    parts.push(value === undefined ? decl.name : `${decl.name}=${value}`);
  }
  commitHistory(state, `ARG ${parts.join(" ")}`, false, false);
}

function dispatchEnv(ctx: PlatformContext, state: StageState, instr: EnvInstruction): void {
  // All pairs see the variables as they were before the instruction (`ENV A=1 B=$A` takes the old A).
  const pairs = instr.pairs.map((pair) => {
    const key = expandAt(ctx, pair.key, state.env, pair.pos);
    if (key === "") throw dockerfileError("ENV names can not be blank", ctx.source, pair.pos);
    return [key, expandAt(ctx, pair.value, state.env, pair.valuePos)] as const;
  });
  const parts: string[] = [];
  for (const [key, value] of pairs) {
    state.env.set(key, value);
    state.image.config.Env ??= [];
    setEnvString(state.image.config.Env, key, value);
    parts.push(`${key}=${value}`);
  }
  commitHistory(state, `ENV ${parts.join(" ")}`, false, false);
}

function dispatchLabel(ctx: PlatformContext, state: StageState, instr: LabelInstruction): void {
  const parts: string[] = [];
  state.image.config.Labels ??= {};
  for (const pair of instr.pairs) {
    const key = expandAt(ctx, pair.key, state.env, pair.pos);
    const value = expandAt(ctx, pair.value, state.env, pair.valuePos);
    if (key === "") throw dockerfileError("LABEL names can not be blank", ctx.source, pair.pos);
    state.image.config.Labels[key] = value;
    parts.push(`${key}=${value}`);
  }
  commitHistory(state, `LABEL ${parts.join(" ")}`, false, false);
}

/** WORKDIR: relative to the previous one; the directory is created (owned by USER) unless it is `/`. */
function dispatchWorkdir(ctx: PlatformContext, state: StageState, instr: WorkdirInstruction): void {
  const requested = expandAt(ctx, instr.path.value, state.env, instr.path.pos);
  if (requested === "") throw dockerfileError("WORKDIR needs a path", ctx.source, instr.path.pos);
  const wd = resolveWorkdir(state.image.config.WorkingDir ?? "/", requested);
  state.image.config.WorkingDir = wd;
  state.cwd = wd;
  if (wd === "/") {
    commitHistory(state, `WORKDIR ${wd}`, false, false);
    return;
  }
  const owner = state.user ? parseOwner(state.user) : undefined;
  const name = stepName(ctx, state, displayText(ctx, upperKeyword(instr.line), state.env, false));
  state.vertex = addVertex(
    ctx.graph,
    {
      kind: "file",
      actions: [{ action: "mkdir", path: wd, mode: 0o755, makeParents: true, ...(owner ? { owner } : {}) }],
    },
    [state.vertex],
    meta(ctx, state, instr, name),
  );
  state.layerVertices.push(state.vertex);
  commitHistory(state, `WORKDIR ${wd}`, true, false);
}

function dispatchUser(ctx: PlatformContext, state: StageState, instr: UserInstruction): void {
  const user = expandAt(ctx, instr.user.value, state.env, instr.user.pos);
  state.user = user;
  state.image.config.User = user;
  commitHistory(state, `USER ${user}`, false, false);
}

function dispatchExpose(ctx: PlatformContext, state: StageState, instr: ExposeInstruction): void {
  const ports: string[] = [];
  for (const word of instr.ports) {
    for (const spec of expandWordsAt(ctx, word.value, state.env, word.pos)) {
      const parsed = parsePortSpec(spec);
      if ("error" in parsed)
        throw dockerfileError(
          `invalid port: ${JSON.stringify(spec)}: ${parsed.error}`,
          ctx.source,
          word.pos,
          {
            hint: "write a port, a range or a port with its protocol: 80, 8000-8010, 53/udp",
          },
        );
      ports.push(...parsed.ports);
    }
  }
  state.image.config.ExposedPorts ??= {};
  for (const p of ports) state.image.config.ExposedPorts[p] = {};
  commitHistory(state, `EXPOSE ${goList(ports)}`, false, false);
}

function dispatchVolume(ctx: PlatformContext, state: StageState, instr: VolumeInstruction): void {
  const volumes = instr.paths.map((w) => {
    const v = expandAt(ctx, w.value, state.env, w.pos);
    if (v === "") throw dockerfileError("VOLUME specified can not be an empty string", ctx.source, w.pos);
    return v;
  });
  state.image.config.Volumes ??= {};
  for (const v of volumes) state.image.config.Volumes[v] = {};
  commitHistory(state, `VOLUME ${goList(volumes)}`, false, false);
}

function dispatchStopsignal(ctx: PlatformContext, state: StageState, instr: StopsignalInstruction): void {
  const signal = expandAt(ctx, instr.signal.value, state.env, instr.signal.pos);
  if (!isValidSignal(signal)) {
    throw dockerfileError(`invalid signal: ${signal}`, ctx.source, instr.signal.pos, {
      hint: "give a signal name such as SIGTERM or SIGQUIT, or its number",
    });
  }
  state.image.config.StopSignal = signal;
  commitHistory(state, `STOPSIGNAL ${signal}`, false, false);
}

/** Shell form runs through the image's SHELL (default `/bin/sh -c`); exec form is used as written. */
export function commandArgs(state: StageState, command: CmdInstruction["command"]): string[] {
  if (command.form === "exec") return [...command.args];
  return [...shellOf(state), command.text];
}

function dispatchCmd(state: StageState, instr: CmdInstruction): void {
  const args = commandArgs(state, instr.command);
  state.image.config.Cmd = args;
  state.image.config.ArgsEscaped = true;
  state.cmdSet = true;
  commitHistory(state, `CMD ${goQuoteList(args)}`, false, false);
}

/** ENTRYPOINT drops a CMD inherited from the base (a CMD set earlier in the same stage stays). */
function dispatchEntrypoint(state: StageState, instr: EntrypointInstruction): void {
  const args = commandArgs(state, instr.command);
  state.image.config.Entrypoint = args;
  if (!state.cmdSet) delete state.image.config.Cmd;
  commitHistory(state, `ENTRYPOINT ${goQuoteList(args)}`, false, false);
}

/** The instruction's logical line with the keyword in upper case, as progress names show it. */
export function upperKeyword(line: string): string {
  const space = firstBlank(line);
  const keyword = space < 0 ? line : line.slice(0, space);
  const upper = keyword.toUpperCase();
  // Keywords are usually written in capitals: the line is then returned as it is, not copied.
  if (upper === keyword) return line;
  return space < 0 ? upper : upper + line.slice(space);
}

const blank = /\s/;

/** The index of the first character `\s` matches (ASCII checked directly), or -1. */
function firstBlank(line: string): number {
  for (let i = 0; i < line.length; i++) {
    const c = line.charCodeAt(i);
    if (c === 0x20 || (c >= 0x09 && c <= 0x0d)) return i;
    if (c >= 0x80 && blank.test(line[i]!)) return i;
  }
  return -1;
}

export function meta(ctx: PlatformContext, state: StageState, instr: Instruction, name: string) {
  return {
    name,
    stage: state.def.info.displayName,
    location: { file: ctx.source.file, line: instr.pos.line, column: instr.pos.column },
  };
}
