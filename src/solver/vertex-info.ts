import { type ErrorLocation, UserError } from "../errors/user-error.ts";
import type { Vertex, VertexMeta } from "../graph/types.ts";

/** The name a step is shown with: the planner's, else one made from the op (none for scratch). */
export function stepName(v: Vertex): string | undefined {
  if (v.meta?.name) return v.meta.name;
  const op = v.op;
  switch (op.kind) {
    case "source":
      if (op.source.type === "scratch") return undefined;
      if (op.source.type === "image") return `FROM ${op.source.ref}`;
      if (op.source.type === "local") return `[internal] load build context ${op.source.name}`;
      if (op.source.type === "http") return `ADD ${op.source.url}`;
      return `git ${op.source.remote}`;
    case "exec":
      return `RUN ${op.args.join(" ")}`;
    case "file":
      return "file operation";
    case "merge":
      return "merge";
    case "diff":
      return "diff";
  }
}

export function metaLocation(meta: VertexMeta | undefined): ErrorLocation | undefined {
  const l = meta?.location;
  return l ? { file: l.file, line: l.line, column: l.column } : undefined;
}

/** Gives a UserError without a position the Dockerfile location of the step that failed. */
export function withLocation(e: unknown, location: ErrorLocation | undefined): unknown {
  if (location && e instanceof UserError && e.location === undefined) {
    Object.defineProperty(e, "location", { value: location, enumerable: true, configurable: true });
  }
  return e;
}

export function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
