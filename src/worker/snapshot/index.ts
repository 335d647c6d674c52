export { CopySnapshotter } from "./copy.ts";
export { createSnapshotter, overlaySupport, type SnapshotterMode } from "./create.ts";
export { OverlaySnapshotter } from "./overlay.ts";
export {
  type ActiveSnapshot,
  execMountPoints,
  type PrepareOptions,
  type Snapshotter,
} from "./snapshotter.ts";
