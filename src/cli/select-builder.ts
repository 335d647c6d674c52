import type { BuilderRecord } from "../api/builders/builder-record.ts";
import { BuilderStore } from "../api/builders/builder-store.ts";

/**
 * The builder a build runs on: `--builder NAME`, else $POLYARCH_BUILDER, else the one `polyarch use`
 * chose. Undefined for the default builder (this machine), so such a build reads no builder file.
 */
export async function selectBuilder(flag: string | undefined): Promise<BuilderRecord | undefined> {
  const store = new BuilderStore();
  const name = flag ?? (process.env.POLYARCH_BUILDER || undefined) ?? (await store.currentName());
  if (name === "default") return undefined;
  return store.get(name);
}
