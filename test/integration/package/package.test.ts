// The published package (issue 10, item 6): `npm pack` → `npm i -g` into an empty prefix → the installed
// `polyarch` runs a real build with nothing of this checkout around it; and a TypeScript consumer with
// `nodenext`, `strict` and `exactOptionalPropertyTypes` compiles against the shipped declarations and loads
// the library through the `exports` map.
import assert from "node:assert/strict";
import { existsSync, readdirSync, statSync } from "node:fs";
import { mkdir, mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { run, runOk } from "../../harness/exec.ts";
import { pushBusyboxImage } from "../../harness/images.ts";
import { startRegistry, type TestRegistry } from "../../harness/registry.ts";
import { polyarch } from "../../support/cli.ts";

const repoRoot = new URL("../../../", import.meta.url).pathname;
const npm = "npm";
let work: string;
let tarball: string;
let reg: TestRegistry;

function newestMtime(dir: string): number {
  let newest = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    newest = Math.max(newest, e.isDirectory() ? newestMtime(p) : statSync(p).mtimeMs);
  }
  return newest;
}

/** npm's own environment for these runs: its cache as usual, but no global config of this checkout. */
function npmEnv(prefix?: string): Record<string, string> {
  return {
    npm_config_fund: "false",
    npm_config_audit: "false",
    npm_config_update_notifier: "false",
    ...(prefix ? { npm_config_prefix: prefix } : {}),
  };
}

before(async () => {
  work = await mkdtemp(join(tmpdir(), "polyarch-package-"));
  // The bundle as every CLI test has it, then the declarations when src/ changed since they were written.
  await polyarch(["--version"]);
  const types = join(repoRoot, "dist/types/api/index.d.ts");
  if (!existsSync(types) || statSync(types).mtimeMs < newestMtime(join(repoRoot, "src")))
    await runOk(process.execPath, [join(repoRoot, "scripts/build-types.mjs")], { cwd: repoRoot });
  // --ignore-scripts: prepack would re-bundle dist/ under other tests running from it.
  await runOk(npm, ["pack", "--ignore-scripts", "--pack-destination", work], {
    cwd: repoRoot,
    env: { ...process.env, ...npmEnv() },
  });
  const name = (await readdir(work)).find((f) => /^polyarch-.*\.tgz$/.test(f));
  assert.ok(name, "npm pack wrote no tarball");
  tarball = join(work, name);
  reg = await startRegistry();
  await pushBusyboxImage(reg);
});
after(async () => {
  await reg?.stop();
  if (work) await rm(work, { recursive: true, force: true });
});

test("npm i -g of the packed tarball gives a polyarch that builds and exports an image", async () => {
  const prefix = join(work, "prefix");
  const home = join(work, "home");
  await mkdir(home, { recursive: true });
  await runOk(npm, ["install", "--global", "--prefer-offline", tarball], {
    cwd: home,
    env: { ...process.env, ...npmEnv(prefix), HOME: home },
  });
  const bin = join(prefix, "bin/polyarch");
  assert.ok(existsSync(bin), "the package installs a polyarch command");
  const installed = join(prefix, "lib/node_modules/polyarch");
  // What ships: the bundle, the binary, the declarations and the licence; not the sources or tests.
  const shipped = await readdir(installed);
  for (const f of ["bin", "dist", "LICENSE", "package.json"]) assert.ok(shipped.includes(f), f);
  assert.ok(!shipped.includes("src") && !shipped.includes("test"), shipped.join(" "));

  const ctx = join(work, "ctx");
  await mkdir(ctx, { recursive: true });
  await writeFile(
    join(ctx, "Dockerfile"),
    `FROM ${reg.ref("library/busybox:latest")}\nRUN echo installed > /marker\nCOPY hello.txt /hello.txt\n`,
  );
  await writeFile(join(ctx, "hello.txt"), "hello\n");
  // Run from an unrelated directory with a bare environment: nothing of this checkout can be reached.
  const env = {
    PATH: `${join(prefix, "bin")}:${process.env.PATH ?? ""}`,
    HOME: home,
    POLYARCH_ROOT: join(work, "state"),
    DOCKER_CONFIG: join(home, ".docker"),
    NO_COLOR: "1",
  };
  const version = await run(bin, ["--version"], { cwd: home, env });
  assert.equal(version.code, 0, version.stderr);
  const out = join(work, "out");
  const r = await run(bin, ["build", "--progress=plain", "-o", `type=local,dest=${out}`, ctx], {
    cwd: home,
    env,
  });
  assert.equal(r.code, 0, r.stderr);
  const { readFile } = await import("node:fs/promises");
  assert.equal(await readFile(join(out, "marker"), "utf8"), "installed\n");
  assert.equal(await readFile(join(out, "hello.txt"), "utf8"), "hello\n");
});

test("a TypeScript consumer (nodenext, strict, exactOptionalPropertyTypes) compiles and loads the library", async () => {
  const app = join(work, "consumer");
  await mkdir(app, { recursive: true });
  await writeFile(
    join(app, "package.json"),
    JSON.stringify({ name: "consumer", private: true, type: "module" }),
  );
  await runOk(npm, ["install", "--prefer-offline", tarball, "@types/node@24"], {
    cwd: app,
    env: { ...process.env, ...npmEnv() },
  });
  await writeFile(
    join(app, "tsconfig.json"),
    JSON.stringify({
      compilerOptions: {
        target: "ES2023",
        module: "nodenext",
        moduleResolution: "nodenext",
        strict: true,
        exactOptionalPropertyTypes: true,
        noEmit: true,
        types: ["node"],
      },
      include: ["main.ts"],
    }),
  );
  await writeFile(
    join(app, "main.ts"),
    [
      'import { type BuildOptions, type BuildResult, type Platform, build, formatPlatform, parsePlatform, parseReference, createProgress } from "polyarch";',
      'const platform: Platform = parsePlatform("linux/arm64");',
      "const name: string = formatPlatform(platform);",
      'const ref = parseReference("registry.example.com/app:1");',
      'const options: BuildOptions = { context: ".", platforms: [platform], outputs: [], progress: createProgress("quiet", process.stderr) };',
      "const run: (o: BuildOptions) => Promise<BuildResult> = build;",
      "console.log(name, ref.repository, typeof run, Object.keys(options).length);",
      "",
    ].join("\n"),
  );
  const tsc = join(repoRoot, "node_modules/typescript/bin/tsc");
  const compiled = await run(process.execPath, [tsc, "-p", app], { cwd: app });
  assert.equal(compiled.code, 0, `${compiled.stdout}${compiled.stderr}`);
  // The exports map resolves at run time too (ESM import by package name).
  const loaded = await runOk(
    process.execPath,
    [
      "--input-type=module",
      "-e",
      'const m = await import("polyarch"); console.log(typeof m.build, m.formatPlatform(m.parsePlatform("arm64")))',
    ],
    { cwd: app },
  );
  assert.equal(loaded.stdout.trim(), "function linux/arm64");
});
