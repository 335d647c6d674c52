import type { BuildInputs } from "../../dockerfile/context/build-inputs.ts";
import type { NamedContext } from "../../dockerfile/context/named-contexts.ts";
import type { CacheExport, CacheImport } from "./cache-backends.ts";

/** What a node running its own Dockerfile frontend (a BuildKit daemon) needs of a build's options. */
export interface FrontendOptionsIn {
  target?: string;
  labels?: Record<string, string>;
  namedContexts?: NamedContext[];
  secrets?: Record<string, { file?: string; env?: string }>;
  cacheFrom?: CacheImport[];
  cacheTo?: CacheExport[];
}

/**
 * The build as the user gave it, for nodes that plan it themselves. Named contexts go as the daemon
 * takes them (a directory it syncs, or a reference it fetches); `--cache-from` / `--cache-to` of registry
 * type pass through, since the daemon reads and writes that cache itself.
 */
export function frontendInputs(
  options: FrontendOptionsIn,
  inputs: BuildInputs,
  buildArgs: Readonly<Record<string, string>>,
) {
  const namedContexts: Record<string, { dir: string } | { ref: string }> = {};
  for (const c of options.namedContexts ?? []) {
    if (c.kind === "local") namedContexts[c.name] = { dir: c.path };
    else if (c.kind === "image") namedContexts[c.name] = { ref: `docker-image://${c.ref}` };
    else if (c.kind === "git" || c.kind === "url") namedContexts[c.name] = { ref: c.url };
  }
  return {
    contextDir: inputs.contextDir,
    dockerfile: { ...inputs.dockerfile },
    buildArgs,
    target: options.target,
    labels: options.labels ?? {},
    namedContexts,
    secrets: options.secrets ?? {},
    cacheFrom: (options.cacheFrom ?? [])
      .filter((c) => c.type === "registry")
      .map((c) => ({ type: c.type, attrs: c.attrs })),
    // The daemon writes its own cache format there (BuildKit's), with its mode and error handling.
    cacheTo: (options.cacheTo ?? [])
      .filter((c) => c.type === "registry")
      .map((c) => ({
        type: c.type,
        attrs: { ...c.attrs, mode: c.mode, ...(c.ignoreError ? { "ignore-error": "true" } : {}) },
      })),
  };
}
