import type { ContentStore } from "../content/types.ts";
import type { Worker } from "../worker/worker.ts";
import type { CacheMountSeed } from "./cache-mount-archive.ts";
import type { ImageResolver } from "./image-resolver.ts";
import type { ProgressTracker } from "./progress-tracker.ts";
import type { LocalContextProvider, SecretProvider, SshAgentProvider } from "./types.ts";
import type { Workspace } from "./workspace.ts";

/** What the runners of one build share. */
export interface RunEnv {
  /** The solver's index and locks. */
  ws: Workspace;
  /** Runs the ops and holds their results (snapshots). */
  worker: Worker;
  progress: ProgressTracker;
  store: ContentStore;
  images: ImageResolver;
  localContexts: LocalContextProvider;
  /** Aborted on Ctrl-C and when another step of the build fails. */
  signal: AbortSignal;
  secrets: SecretProvider | undefined;
  sshAgents: SshAgentProvider | undefined;
  /** Cache mounts' contents from --cache-from, by directory name: a new cache directory starts from one. */
  cacheMountSeeds: ReadonlyMap<string, CacheMountSeed>;
  /** How long a `sharing=locked` cache mount waits; undefined: defaultCacheLockTimeoutMs. */
  cacheLockTimeoutMs: number | undefined;
  proxyEnv: Readonly<Record<string, string>>;
  execTimeoutMs: number | undefined;
  /** Base layers being unpacked by this process, by directory name (two platforms may share one). */
  unpacks: Map<string, Promise<void>>;
}
