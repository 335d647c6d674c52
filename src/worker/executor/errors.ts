import { type ErrorLocation, UserError } from "../../errors/user-error.ts";

/** How a step's command is shown in errors: BuildKit quotes the args joined by spaces. */
export function displayCommand(args: readonly string[]): string {
  return JSON.stringify(args.join(" "));
}

function tailHint(lines: readonly string[]): string | undefined {
  if (lines.length === 0) return undefined;
  return `the last lines of its output:\n${lines.map((l) => `  > ${l}`).join("\n")}`;
}

/** A RUN step whose process exited non-zero: the command, its exit code and the end of its output. */
export class ExecFailedError extends UserError {
  override name = "ExecFailedError";
  readonly command: readonly string[];
  readonly exitCode: number;
  readonly outputTail: readonly string[];

  constructor(
    command: readonly string[],
    exitCode: number,
    outputTail: readonly string[],
    location?: ErrorLocation,
  ) {
    const signal = exitCode > 128 ? ` (killed by signal ${exitCode - 128})` : "";
    const options: { hint?: string; location?: ErrorLocation } = {};
    const hint = tailHint(outputTail);
    if (hint) options.hint = hint;
    if (location) options.location = location;
    super(
      `process ${displayCommand(command)} did not complete successfully: exit code: ${exitCode}${signal}`,
      options,
    );
    this.command = command;
    this.exitCode = exitCode;
    this.outputTail = outputTail;
  }
}

/** runc could not start the process at all (executable missing, bad working dir…). */
export class ExecStartError extends UserError {
  override name = "ExecStartError";
  readonly command: readonly string[];
  readonly reason: string;

  constructor(command: readonly string[], reason: string, location?: ErrorLocation) {
    super(`process ${displayCommand(command)} could not start: ${reason}`, location ? { location } : {});
    this.command = command;
    this.reason = reason;
  }
}

/** The watchdog fired: the step ran longer than allowed and was killed. */
export class ExecTimeoutError extends UserError {
  override name = "ExecTimeoutError";
  readonly command: readonly string[];
  readonly timeoutMs: number;

  constructor(
    command: readonly string[],
    timeoutMs: number,
    emulated: boolean,
    outputTail: readonly string[],
    location?: ErrorLocation,
  ) {
    const options: { hint?: string; location?: ErrorLocation } = {
      hint: emulated
        ? "the step ran under QEMU emulation, which is much slower than native and can hang when the emulated process dies of a signal; raise the timeout or use a newer QEMU (e.g. from bookworm-backports)"
        : "raise the timeout if the step is expected to take this long",
    };
    const tail = tailHint(outputTail);
    if (tail) options.hint = `${options.hint}\n${tail}`;
    if (location) options.location = location;
    super(
      `process ${displayCommand(command)} did not finish within ${Math.round(timeoutMs / 100) / 10}s and was killed`,
      options,
    );
    this.command = command;
    this.timeoutMs = timeoutMs;
  }
}
