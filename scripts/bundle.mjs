// Bundles the CLI and the library entry into dist/ so that `polyarch` starts without resolving hundreds of
// modules. Code splitting keeps each command's heavy parts (frontend, engine, registry) in chunks loaded only
// when that command runs: start-up time is a feature (see bench/).
import { readdir, rm } from "node:fs/promises";
import { relative } from "node:path";
import { build } from "esbuild";

const result = await build({
  entryPoints: { polyarch: "src/cli/main.ts", api: "src/api/index.ts" },
  outdir: "dist",
  outExtension: { ".js": ".mjs" },
  chunkNames: "chunks/[name]-[hash]",
  bundle: true,
  splitting: true,
  platform: "node",
  format: "esm",
  target: "node22",
  sourcemap: "linked",
  logLevel: "warning",
  metafile: true,
  // Some CommonJS dependencies call require(); give the ESM chunks one.
  banner: {
    js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);",
  },
});

// Chunk names carry content hashes: remove the ones this build did not write, so dist/ does not grow.
const written = new Set(Object.keys(result.metafile.outputs).map((p) => relative("dist/chunks", p)));
for (const name of await readdir("dist/chunks")) {
  if (!written.has(name)) await rm(`dist/chunks/${name}`, { force: true });
}
