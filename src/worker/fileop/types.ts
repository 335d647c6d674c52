/**
 * The file operations the worker applies are the build graph's own (a remote worker receives the graph and
 * runs it, as BuildKit's worker runs LLB ops): re-exported so fileop code names them locally.
 */
export type {
  CopyAction,
  FileAction,
  FileOp,
  FileOwner,
  MkdirAction,
  MkfileAction,
  RmAction,
} from "../../graph/types.ts";
