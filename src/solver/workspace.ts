/**
 * The solver's corner of the state directory (the worker keeps its snapshots beside it, see
 * worker/local/local-worker.ts).
 *
 * Layout under `<state>/solver/`:
 *   index/        the cache index (cache-index.ts)
 *   locks/        per-key lock files (vertex-lock.ts)
 *   cache-mounts/ RUN --mount=type=cache directories, by id
 *   lower-links/  which hard links to lower layers each unpacked base layer has (run-image.ts)
 */
import { join } from "node:path";
import { CacheIndex } from "./cache-index.ts";
import { VertexLocks } from "./vertex-lock.ts";

export class Workspace {
  readonly root: string;
  readonly index: CacheIndex;
  readonly locks: VertexLocks;

  constructor(stateRoot: string) {
    this.root = join(stateRoot, "solver");
    this.index = new CacheIndex(this.root);
    this.locks = new VertexLocks(join(this.root, "locks"));
  }
}
