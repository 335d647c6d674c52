import { listContextFiles, localSourceSelection } from "../../dockerfile/context/list-files.ts";
import type { NamedContext } from "../../dockerfile/context/named-contexts.ts";
import { UserError } from "../../errors/user-error.ts";
import type { LocalSource } from "../../graph/types.ts";
import type { LocalContextProvider, LocalSelection } from "../../solver/types.ts";

/**
 * The solver's view of local sources: the main context (`context`) and `--build-context NAME=DIR`
 * directories, listed with the frontend's rules (.dockerignore, the step's selection). Each distinct
 * selection is listed once per build.
 */
export function localContextProvider(
  contextDir: string | undefined,
  named: readonly NamedContext[],
): LocalContextProvider {
  const roots = new Map<string, string>();
  for (const c of named) if (c.kind === "local") roots.set(c.name, c.path);
  const listed = new Map<string, Promise<LocalSelection>>();
  return (source: LocalSource) => {
    const id = JSON.stringify(source);
    let p = listed.get(id);
    if (!p) {
      p = (async () => {
        const root = roots.get(source.name) ?? (source.name === "context" ? contextDir : undefined);
        if (root === undefined) {
          throw new UserError(
            source.name === "context"
              ? "this build has no context (it was given as `-`), but a step reads files from it"
              : `no local context named ${JSON.stringify(source.name)}`,
            {
              hint:
                source.name === "context"
                  ? "pass a context directory instead of `-`, e.g. `polyarch build -f - .`"
                  : `pass it with --build-context ${source.name}=DIR`,
            },
          );
        }
        const files = await listContextFiles(localSourceSelection(root, source));
        return { root, files };
      })();
      listed.set(id, p);
    }
    return p;
  };
}
