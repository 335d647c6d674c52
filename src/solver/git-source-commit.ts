/**
 * The commit a git source builds from: its ref resolved on the remote (a full commit id is taken as it is),
 * checked against `ADD --checksum` when the Dockerfile pins one. The commit is the source's cache key.
 */
import { UserError } from "../errors/user-error.ts";
import { formatGitUrl, redactGitRemote } from "../graph/git-url.ts";
import type { GitSource } from "../graph/types.ts";
import { resolveGitCommit } from "./git-fetch.ts";

export async function resolveGitSource(source: GitSource, signal: AbortSignal): Promise<string> {
  const commit = await resolveGitCommit(source.remote, source.ref, signal);
  const checksum = source.checksum?.toLowerCase();
  if (checksum !== undefined && checksum !== "") {
    // As BuildKit: the checksum is the commit id, or a prefix of it long enough to mean one commit.
    if (!/^[0-9a-f]{7,64}$/.test(checksum)) {
      throw new UserError(`invalid checksum ${source.checksum} for a git source`, {
        hint: "give the commit id the ref must resolve to, e.g. --checksum=<40 hex digits>",
      });
    }
    if (!commit.startsWith(checksum)) {
      const url = formatGitUrl({
        remote: redactGitRemote(source.remote),
        ref: source.ref,
        subdir: source.subdir ?? "",
      });
      throw new UserError(`expected checksum to match ${source.checksum}, got ${commit} (${url})`, {
        hint: "the ref now names another commit: check the repository, or update --checksum",
      });
    }
  }
  return commit;
}
