import type { ContainerConfig } from "../../oci/image-config.ts";
import type { Flag, HealthcheckInstruction } from "../ast.ts";
import { dockerfileError } from "../errors.ts";
import { formatGoDuration, goList, parseGoDuration } from "./go-format.ts";
import { commitHistory, type PlatformContext, type StageState } from "./state.ts";

type Healthcheck = NonNullable<ContainerConfig["Healthcheck"]>;

/** HEALTHCHECK NONE disables an inherited check; HEALTHCHECK [options] CMD sets one (shell form: CMD-SHELL). */
export function dispatchHealthcheck(
  ctx: PlatformContext,
  state: StageState,
  instr: HealthcheckInstruction,
): void {
  const flags = [instr.interval, instr.timeout, instr.startPeriod, instr.startInterval, instr.retries];
  let check: Healthcheck;
  let durations = { interval: 0, timeout: 0, startPeriod: 0, startInterval: 0 };
  let retries = 0;
  if (instr.type === "NONE") {
    const flag = flags.find((f) => f !== undefined) ?? instr.flags[0];
    if (flag) {
      throw dockerfileError("HEALTHCHECK NONE takes no options", ctx.source, flag.pos, {
        hint: "remove the options, or write HEALTHCHECK [OPTIONS] CMD command",
      });
    }
    check = { Test: ["NONE"] };
  } else {
    const command = instr.command;
    if (!command || (command.form === "exec" ? command.args.length === 0 : command.text.trim() === "")) {
      throw dockerfileError("Missing command after HEALTHCHECK CMD", ctx.source, instr.pos, {
        hint: "e.g. HEALTHCHECK CMD curl -f http://localhost/ || exit 1",
      });
    }
    const test = command.form === "exec" ? ["CMD", ...command.args] : ["CMD-SHELL", command.text];
    durations = {
      interval: duration(ctx, instr.interval),
      timeout: duration(ctx, instr.timeout),
      startPeriod: duration(ctx, instr.startPeriod),
      startInterval: duration(ctx, instr.startInterval),
    };
    retries = retriesOf(ctx, instr.retries);
    check = { Test: test };
    if (durations.interval) check.Interval = durations.interval;
    if (durations.timeout) check.Timeout = durations.timeout;
    if (durations.startPeriod) check.StartPeriod = durations.startPeriod;
    if (durations.startInterval) check.StartInterval = durations.startInterval;
    if (retries) check.Retries = retries;
  }
  state.image.config.Healthcheck = check;
  // BuildKit prints the struct with Go's %+v.
  const text =
    `{Test:${goList(check.Test ?? [])} Interval:${formatGoDuration(durations.interval)} ` +
    `Timeout:${formatGoDuration(durations.timeout)} StartPeriod:${formatGoDuration(durations.startPeriod)} ` +
    `StartInterval:${formatGoDuration(durations.startInterval)} Retries:${retries}}`;
  commitHistory(state, `HEALTHCHECK ${text}`, false, false);
}

function duration(ctx: PlatformContext, flag: Flag | undefined): number {
  if (!flag || flag.value === undefined || flag.value === "") return 0;
  const ns = parseGoDuration(flag.value);
  const where = flag.valuePos ?? flag.pos;
  if (ns === undefined) {
    throw dockerfileError(`--${flag.name}: invalid duration "${flag.value}"`, ctx.source, where, {
      hint: "write a duration such as 30s, 1m30s or 500ms",
    });
  }
  if (ns < 0) throw dockerfileError(`--${flag.name}: "${flag.value}" cannot be negative`, ctx.source, where);
  if (ns !== 0 && ns < 1_000_000) {
    throw dockerfileError(`--${flag.name}: "${flag.value}" cannot be less than 1ms`, ctx.source, where);
  }
  return ns;
}

function retriesOf(ctx: PlatformContext, flag: Flag | undefined): number {
  if (!flag || flag.value === undefined || flag.value === "") return 0;
  const where = flag.valuePos ?? flag.pos;
  if (!/^[+-]?\d+$/.test(flag.value) || Math.abs(Number(flag.value)) > 2 ** 31 - 1) {
    throw dockerfileError(`--retries: "${flag.value}" is not a number`, ctx.source, where);
  }
  const n = Number(flag.value);
  if (n < 0) throw dockerfileError(`--retries cannot be negative (${n})`, ctx.source, where);
  return n;
}
