// Lint warnings of a normal build (issue 10, item 5), through the CLI: listed after the build in buildx's
// words, expanded with --debug, in rawjson's `warnings`, in --metadata-file's buildx.build.warnings when
// BUILDX_METADATA_WARNINGS is set, failing the build under `# check=error=true`; --call check unchanged.
// FROM scratch: no base image, no emulator.
import assert from "node:assert/strict";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { polyarch, tempStateRoot } from "../../support/cli.ts";
import { solveStatuses, warningShorts } from "../../support/solve-status.ts";

let work: string;
let state: Awaited<ReturnType<typeof tempStateRoot>>;
const env = () => ({ POLYARCH_ROOT: state.dir, DOCKER_CONFIG: join(work, "docker") });

const casing =
  "ConsistentInstructionCasing: Command 'cmd' should match the case of the command majority (uppercase) (line 3)";
const jsonArgs =
  "JSONArgsRecommended: JSON arguments recommended for cmd to prevent unintended behavior related to OS signals (line 3)";

async function context(name: string, dockerfile: string): Promise<string> {
  const dir = join(work, name);
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, "Dockerfile"), dockerfile);
  await writeFile(join(dir, "hello.txt"), "hello\n");
  return dir;
}
const linted = () => context("linted", "FROM scratch\nCOPY hello.txt /hello.txt\ncmd echo x\n");

before(async () => {
  work = await mkdtemp(join(tmpdir(), "polyarch-build-warnings-"));
  state = await tempStateRoot();
});
after(async () => {
  await state?.[Symbol.asyncDispose]();
  if (work) await rm(work, { recursive: true, force: true });
});

const build = async (args: string[], dir: string, extraEnv: Record<string, string> = {}) =>
  polyarch(
    ["build", "--platform", "linux/amd64", ...args, "-o", `type=oci,dest=${join(work, "out.tar")}`, dir],
    {
      env: { ...env(), ...extraEnv },
    },
  );

test("a build lists its lint warnings at the end as buildx does, and --debug expands them", async () => {
  const dir = await linted();
  const r = await build(["--progress=plain"], dir);
  assert.equal(r.code, 0, r.stderr);
  const tail = r.stderr.trimEnd().split("\n").slice(-3);
  assert.deepEqual(tail, [" 2 warnings found (use --debug to expand):", ` - ${casing}`, ` - ${jsonArgs}`]);

  const debug = await build(["--progress=plain", "--debug"], dir);
  assert.equal(debug.code, 0, debug.stderr);
  const from = debug.stderr.indexOf(" 2 warnings found:");
  assert.ok(from >= 0, debug.stderr);
  assert.deepEqual(debug.stderr.slice(from).trimEnd().split("\n"), [
    " 2 warnings found:",
    ` - ${casing}`,
    "All commands within the Dockerfile should use the same casing (either upper or lower)",
    "More info: https://docs.docker.com/go/dockerfile/rule/consistent-instruction-casing/",
    "",
    ` - ${jsonArgs}`,
    "JSON arguments recommended for ENTRYPOINT/CMD to prevent unintended behavior related to OS signals",
    "More info: https://docs.docker.com/go/dockerfile/rule/json-args-recommended/",
  ]);

  // A clean Dockerfile prints no warning block.
  const clean = await build(
    ["--progress=plain"],
    await context("clean", "FROM scratch\nCOPY hello.txt /h\n"),
  );
  assert.equal(clean.code, 0, clean.stderr);
  assert.doesNotMatch(clean.stderr, /warnings? found/);
});

test("rawjson carries the warnings as VertexWarnings and prints no summary; -q prints none", async () => {
  const dir = await linted();
  const raw = await build(["--progress=rawjson"], dir);
  assert.equal(raw.code, 0, raw.stderr);
  assert.deepEqual(warningShorts(solveStatuses(raw.stderr)), [casing, jsonArgs]);
  assert.doesNotMatch(raw.stderr, /warnings found/);
  const quiet = await build(["-q"], dir);
  assert.equal(quiet.code, 0, quiet.stderr);
  assert.doesNotMatch(quiet.stderr, /warning/i);
});

test("--metadata-file holds buildx.build.warnings only with BUILDX_METADATA_WARNINGS", async () => {
  const dir = await linted();
  const file = join(work, "meta.json");
  const read = async () => JSON.parse(await readFile(file, "utf8")) as Record<string, unknown>;
  assert.equal((await build(["--progress=quiet", "--metadata-file", file], dir)).code, 0);
  assert.equal((await read())["buildx.build.warnings"], undefined);
  const r = await build(["--progress=quiet", "--metadata-file", file], dir, {
    BUILDX_METADATA_WARNINGS: "1",
  });
  assert.equal(r.code, 0, r.stderr);
  const warnings = (await read())["buildx.build.warnings"] as { short: string; range: unknown }[];
  assert.deepEqual(
    warnings.map((w) => Buffer.from(w.short, "base64").toString()),
    [casing, jsonArgs],
  );
  assert.deepEqual(warnings[0]!.range, [{ start: { line: 3 }, end: { line: 3 } }]);
});

test("# check=error=true fails the build on a finding, after listing it; --call check reads as before", async () => {
  const dir = await context("strict", "# check=error=true\nFROM scratch\ncmd echo x\n");
  const r = await build(["--progress=plain"], dir);
  assert.equal(r.code, 1, r.stderr);
  assert.match(
    r.stderr,
    /^error: lint violation found for rules: ConsistentInstructionCasing, JSONArgsRecommended/m,
  );
  assert.match(r.stderr, / 2 warnings found \(use --debug to expand\):/);

  const check = await polyarch(["build", "--call", "check", await linted()], { env: env() });
  assert.equal(check.code, 1, check.stderr);
  assert.match(
    check.stdout,
    /^Check complete, 2 warnings have been found!\n\nWARNING: ConsistentInstructionCasing - /,
  );
  assert.doesNotMatch(check.stdout + check.stderr, /use --debug/);
});
