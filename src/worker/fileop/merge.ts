/**
 * MergeOp by copying, for when layers cannot simply be stacked (COPY --link onto a tree that must be one
 * directory): each upper tree is laid over `dest` in order with layer semantics. Directories merge (the
 * upper's metadata wins), any other entry replaces what was there whatever its type, owners and modes are
 * kept as they are, hard links within one upper tree stay hard links. Upper trees are whole trees: overlay
 * whiteouts in them are not interpreted.
 */
import { readdirSync, realpathSync } from "node:fs";
import { Copier } from "./tree-copy.ts";

export async function mergeInto(
  dest: string,
  upperRoots: readonly string[],
  warn: (message: string) => void = () => {},
): Promise<void> {
  const destRoot = realpathSync(dest);
  for (const upper of upperRoots) {
    const root = realpathSync(upper);
    const copier = new Copier({
      owner: undefined,
      rootOwned: false,
      mode: undefined,
      warn,
      include: undefined,
      exclude: undefined,
      replaceExisting: true,
      destRoot,
      env: { where: undefined, location: undefined, warn },
    });
    for (const name of readdirSync(root).sort()) {
      await copier.copy(`${root}/${name}`, name, `${destRoot}/${name}`, true);
    }
  }
}
