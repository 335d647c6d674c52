/**
 * Phase 1 of a build: what the sources whose result depends on the outside world contain, for their cache
 * keys. Local sources are listed and hashed (each file read at most once per build, and not at all when
 * its stat says it is unchanged since a build that read it: context-stat-index.ts); downloads without a pinned
 * checksum are fetched (kept for the run). Git sources are resolved to the commit their ref names (and
 * checked against an ADD --checksum), before anything runs.
 */
import { join } from "node:path";
import type { BuildGraph } from "../graph/types.ts";
import type { Digest } from "../oci/digest.ts";
import { ContextHasher, hashSelection } from "./context-hash.ts";
import { resolveGitSource } from "./git-source-commit.ts";
import { downloadHttp, type HttpDownload } from "./run-http.ts";
import type { LocalContextProvider, LocalSelection } from "./types.ts";
import { metaLocation, withLocation } from "./vertex-info.ts";
import type { Workspace } from "./workspace.ts";

export interface SourceContent {
  /** Content digest by source vertex (local selections, downloads). */
  content: Map<Digest, string>;
  selections: Map<Digest, LocalSelection>;
  downloads: Map<Digest, HttpDownload>;
  /** The commit each git source checks out. */
  gitCommits: Map<Digest, string>;
}

export async function readSourceContent(
  graph: BuildGraph,
  order: readonly Digest[],
  localContexts: LocalContextProvider,
  ws: Workspace,
  signal: AbortSignal,
): Promise<SourceContent> {
  const hasher = new ContextHasher(join(ws.root, "context-index"));
  const out: SourceContent = {
    content: new Map(),
    selections: new Map(),
    downloads: new Map(),
    gitCommits: new Map(),
  };
  const settled = await Promise.allSettled(
    order.map(async (d) => {
      const v = graph.vertices[d]!;
      if (v.op.kind !== "source") return;
      const s = v.op.source;
      if (s.type === "local") {
        const selection = await localContexts(s);
        out.selections.set(d, selection);
        out.content.set(d, await hashSelection(selection, hasher));
      } else if (s.type === "http") {
        if (s.checksum) out.content.set(d, s.checksum);
        else {
          const file = await downloadHttp(s, ws, signal);
          out.downloads.set(d, file);
          out.content.set(d, file.digest);
        }
      } else if (s.type === "git") {
        const commit = await resolveGitSource(s, signal).catch((e) => {
          throw withLocation(e, metaLocation(v.meta));
        });
        out.gitCommits.set(d, commit);
        out.content.set(d, commit);
      }
    }),
  );
  const failed = settled.find((r) => r.status === "rejected") as PromiseRejectedResult | undefined;
  // What was hashed stands even when another source failed.
  await hasher.save();
  if (failed) {
    await discardDownloads(out);
    throw failed.reason;
  }
  return out;
}

export async function discardDownloads(content: SourceContent): Promise<void> {
  for (const f of content.downloads.values()) await f.discard();
}
