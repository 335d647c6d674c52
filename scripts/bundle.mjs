// Bundles the CLI and the library entry into dist/ so that `polyarch` starts without resolving
// hundreds of modules (start-up time is a feature: see bench/).
import { build } from "esbuild";

const common = {
  bundle: true,
  platform: "node",
  format: "esm",
  target: "node22",
  sourcemap: "linked",
  logLevel: "warning",
  // Some CommonJS dependencies call require(); give the ESM bundle one.
  banner: {
    js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);",
  },
};

await build({ ...common, entryPoints: ["src/cli/main.ts"], outfile: "dist/polyarch.mjs" });
await build({ ...common, entryPoints: ["src/api/index.ts"], outfile: "dist/api.mjs" });
