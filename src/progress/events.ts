/**
 * The progress events the solver emits and the renderers display: our form of what BuildKit's SolveStatus
 * carries (vertices, their logs, their sub-statuses such as layer pulls, warnings) plus a build summary.
 *
 * This file is a contract between the solver and progress/: change it only by adding optional fields or new
 * event kinds. Every `at` is milliseconds on the clock given to `createProgress` (by default `Date.now()`),
 * so renderers can time running steps against the same clock.
 */

/** Where a warning points in a Dockerfile (1-based line and column). */
export interface ProgressLocation {
  file: string;
  line: number;
  column?: number;
}

/**
 * A step begins. `id` is stable for the build (e.g. the vertex digest) and every later event of the step
 * carries it. `name` comes preformatted as BuildKit names steps: `[linux/arm64 builder 3/5] RUN make`,
 * `[internal] load build definition from Dockerfile`, `exporting to image`. A vertex that several platforms
 * share is started once, without a platform.
 */
export interface VertexStartEvent {
  type: "vertex.start";
  id: string;
  name: string;
  /** The target platform the step runs for, e.g. "linux/arm64"; absent when it is shared or has none. */
  platform?: string;
  /** True when the step executes through a QEMU (binfmt) emulator. */
  emulated?: boolean;
  /** The ids of the reported steps this one takes its inputs from (BuildKit's vertex `inputs`). */
  inputs?: string[];
  at: number;
}

/** A step whose result came from the cache: it is not started and not run. */
export interface VertexCachedEvent {
  type: "vertex.cached";
  id: string;
  name: string;
  platform?: string;
  /** Where the result came from when not this state dir's cache (an imported cache, `type=local,src=DIR`). */
  from?: string;
  inputs?: string[];
  at: number;
}

/** A chunk of a running step's output. Chunks need not end at line breaks. */
export interface VertexLogEvent {
  type: "vertex.log";
  id: string;
  stream: "stdout" | "stderr";
  data: Uint8Array;
  at: number;
}

/**
 * Progress of one part of a step, e.g. a layer pull ("sha256:4f4f…", current/total bytes) or "exporting
 * layers". Send it as often as you like: renderers throttle. The last one for a `statusId` has `done: true`.
 */
export interface VertexStatusEvent {
  type: "vertex.status";
  id: string;
  /** Stable for this part of the step (e.g. the blob digest). */
  statusId: string;
  /** What to show, e.g. "sha256:4f4fb700ef54…" or "exporting layers". */
  name: string;
  current?: number;
  total?: number;
  /** What current/total count; "bytes" (the default) is shown as 12.3MB. */
  unit?: "bytes" | "items";
  done?: boolean;
  at: number;
}

/** A started step ends. `error` is set when it failed (one or a few lines, shown as given). */
export interface VertexDoneEvent {
  type: "vertex.done";
  id: string;
  durationMs: number;
  error?: string;
  at: number;
}

/** Optional: the build begins; `total` is the number of steps planned (for tty's "(7/12)"). */
export interface BuildStartEvent {
  type: "build.start";
  total?: number;
  platforms?: string[];
  at: number;
}

/** Per-platform totals for the closing summary. */
export interface PlatformSummary {
  platform: string;
  /** Wall time from the platform's first step starting to its last finishing. */
  durationMs: number;
  /** Steps of this platform, cached ones included. */
  steps: number;
  cached: number;
  /** Time its steps spent executing under emulation. */
  emulatedMs: number;
}

/** The build ends (successfully unless `error`). Every renderer closes with a summary from it. */
export interface BuildDoneEvent {
  type: "build.done";
  durationMs: number;
  platforms: PlatformSummary[];
  error?: string;
  at: number;
}

/** A warning for the user, e.g. a lint finding; `id` ties it to a step when there is one. */
export interface WarningEvent {
  type: "warning";
  message: string;
  id?: string;
  detail?: string;
  url?: string;
  location?: ProgressLocation;
  at: number;
}

export type ProgressEvent =
  | BuildStartEvent
  | VertexStartEvent
  | VertexCachedEvent
  | VertexLogEvent
  | VertexStatusEvent
  | VertexDoneEvent
  | WarningEvent
  | BuildDoneEvent;

/** Where the solver sends events. `emit` never throws and never blocks; `close` writes the final output. */
export interface ProgressSink {
  emit(event: ProgressEvent): void;
  close(): Promise<void>;
}

/** `--progress` values, as buildx spells them. */
export type ProgressMode = "auto" | "plain" | "tty" | "rawjson" | "quiet";

/** A sink that drops everything, for library callers who want no output. */
export const discardProgress: ProgressSink = {
  emit() {},
  close() {
    return Promise.resolve();
  },
};
