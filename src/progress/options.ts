/** Options every renderer understands; `createProgress` fills in the defaults. */
export interface ProgressOptions {
  /** "Now" in milliseconds, on the same clock as the events' `at` (default `Date.now`). Tests fix it. */
  clock?: () => number;
  /**
   * Strings to mask as `***` wherever they would be shown (logs, errors, warnings, rawjson log data). The
   * solver never sends secret values; this is a second guard for values a caller knows are sensitive.
   */
  redact?: readonly string[];
  /** List each warning's detail and link after the build, not just its line (the CLI's --debug). */
  expandWarnings?: boolean;
  /** Environment to read NO_COLOR and TERM from (default `process.env`). */
  env?: Readonly<Record<string, string | undefined>>;
  /** tty: least time between two redraws, in ms (default 100, i.e. at most 10 frames a second). */
  refreshMs?: number;
  /** tty: redraw on a timer so running steps' timers move (default true; tests turn it off). */
  autoRefresh?: boolean;
  /** tty: how many of a running step's last log lines to show (default 6). */
  tailLines?: number;
  /** plain: least time between two printed updates of one status (a pull's bytes), in ms (default 500). */
  statusIntervalMs?: number;
}

/** The options with every default applied, as the renderers receive them. */
export interface ResolvedOptions {
  clock: () => number;
  redact: readonly string[];
  expandWarnings: boolean;
  env: Readonly<Record<string, string | undefined>>;
  refreshMs: number;
  autoRefresh: boolean;
  tailLines: number;
  statusIntervalMs: number;
}

export function resolveOptions(options: ProgressOptions = {}): ResolvedOptions {
  return {
    clock: options.clock ?? Date.now,
    redact: options.redact ?? [],
    expandWarnings: options.expandWarnings ?? false,
    env: options.env ?? process.env,
    refreshMs: options.refreshMs ?? 100,
    autoRefresh: options.autoRefresh ?? true,
    tailLines: options.tailLines ?? 6,
    statusIntervalMs: options.statusIntervalMs ?? 500,
  };
}
