import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";

/**
 * Network reads arrive as fresh buffers that V8 frees only at its next garbage collection, and a download
 * allocates almost nothing else on the JS heap, so no collection comes until about 64 MB of dead buffers have
 * piled up (V8's external-memory limit). A young-generation collection every few megabytes (about a
 * millisecond: the heap itself is small) keeps a pull's memory flat whatever the size of the image.
 */
type Collect = (options?: { type?: "minor" | "major"; execution?: "sync" | "async" }) => void;

let collect: Collect | undefined | null;

function collector(): Collect | null {
  if (collect === undefined) {
    try {
      setFlagsFromString("--expose-gc");
      collect = runInNewContext("gc") as Collect;
    } catch {
      collect = null;
    }
  }
  return collect;
}

const every = 16 * 1024 * 1024;
let sinceLast = 0;

/** Counts downloaded bytes and frees dead network buffers every `every` bytes. */
export function releaseBuffersAfter(bytes: number): void {
  sinceLast += bytes;
  if (sinceLast < every) return;
  sinceLast = 0;
  collector()?.({ type: "minor" });
}
