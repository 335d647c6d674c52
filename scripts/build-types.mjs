// Writes the library's type declarations to dist/types (the package's `types`), from src/api/index.ts and
// what it reaches. Sources import each other as `./x.ts` (Node runs them type-stripped); declarations are
// read by consumers' TypeScript with `nodenext` resolution, which expects `./x.js` beside `./x.d.ts`, so the
// relative specifiers are rewritten. Kept apart from bundle.mjs: tests re-bundle often and need no types.
import { execFileSync } from "node:child_process";
import { readdir, readFile, rm, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { join } from "node:path";

const root = new URL("../", import.meta.url).pathname;
const out = join(root, "dist/types");
await rm(out, { recursive: true, force: true });
const tsc = createRequire(import.meta.url).resolve("typescript/bin/tsc");
execFileSync(process.execPath, [tsc, "-p", join(root, "tsconfig.types.json")], {
  stdio: "inherit",
  cwd: root,
});

async function* files(dir) {
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) yield* files(p);
    else if (p.endsWith(".d.ts")) yield p;
  }
}
const relativeTs = /((?:from|import)\s*\(?\s*["'])(\.{1,2}\/[^"']*?)\.ts(["'])/g;
for await (const file of files(out)) {
  const text = await readFile(file, "utf8");
  const fixed = text.replace(relativeTs, "$1$2.js$3");
  if (fixed !== text) await writeFile(file, fixed);
}
