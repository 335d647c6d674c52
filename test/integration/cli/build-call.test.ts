// Runs the real CLI (bin/polyarch.mjs, the bundle `npm run build` makes) on the Dockerfile corpus and checks
// that `build --call targets|outline|check` print what the corpus expects, in buildx's shapes.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { join, relative, resolve } from "node:path";
import { before, describe, test } from "node:test";
import { type RunResult, run } from "../../harness/exec.ts";
import {
  corpusRoot,
  type FixtureOptions,
  fixtureNames,
  fixtureOptions,
} from "../../unit/dockerfile/corpus/summarize.ts";

const repo = resolve(import.meta.dirname, "../../..");
const bin = join(repo, "bin/polyarch.mjs");

interface Expected {
  targets: { name: string | null; default: boolean; description: string }[];
  outline: {
    target: string | null;
    args: { name: string; value: string; description: string }[];
    secrets: { name: string; required: boolean }[];
    ssh: { name: string; required: boolean }[];
  };
  check: { findings: { rule: string; line: number }[]; error?: string; violation?: string };
}

function polyarch(args: string[], options: { cwd?: string; input?: string } = {}): Promise<RunResult> {
  return run(process.execPath, [bin, ...args], { cwd: options.cwd ?? repo, timeoutMs: 60_000, ...options });
}

/** The flags a user would pass for a fixture's options.json. */
function optionFlags(name: string, o: FixtureOptions): string[] {
  const flags: string[] = ["--platform", "linux/amd64"];
  if (o.target) flags.push("--target", o.target);
  for (const [k, v] of Object.entries(o.buildArgs ?? {})) flags.push("--build-arg", `${k}=${v}`);
  for (const c of o.buildContexts ?? []) {
    const eq = c.indexOf("=");
    const value = c.slice(eq + 1);
    // Local contexts in options.json are relative to the fixture; the CLI takes them relative to the cwd.
    flags.push(
      "--build-context",
      value.includes("://") ? c : `${c.slice(0, eq)}=${join(corpusRoot, name, value)}`,
    );
  }
  return flags;
}

// Runs `jobs` with at most `limit` processes at once: the corpus is large and each run starts a Node process.
async function inBatches<T>(
  items: readonly T[],
  limit: number,
  job: (item: T) => Promise<void>,
): Promise<void> {
  const queue = [...items];
  await Promise.all(
    Array.from({ length: limit }, async () => {
      for (let item = queue.shift(); item !== undefined; item = queue.shift()) await job(item);
    }),
  );
}

describe("polyarch build --call on the corpus", () => {
  before(() => {
    // The bundle is what users run; build it when a plain `node --test` run finds none.
    if (!existsSync(join(repo, "dist/polyarch.mjs"))) execFileSync("npm", ["run", "build"], { cwd: repo });
  });

  const names = fixtureNames();
  const expected = (name: string) =>
    JSON.parse(readFileSync(join(corpusRoot, name, "expected.json"), "utf8")) as Expected;

  test("--call targets lists every stage, the default marked", async () => {
    await inBatches(names, 4, async (name) => {
      const r = await polyarch(["build", "--call", "targets", join(corpusRoot, name)]);
      assert.equal(r.code, 0, `${name}: ${r.stderr}`);
      const lines = r.stdout.trimEnd().split("\n");
      assert.match(lines[0]!, /^TARGET\s+DESCRIPTION$/, name);
      const want = expected(name).targets;
      assert.equal(lines.length, want.length + 1, `${name}: one line per stage\n${r.stdout}`);
      want.forEach((t, i) => {
        const line = lines[i + 1]!;
        const label =
          t.name === null ? (t.default ? "(default)" : "") : t.default ? `${t.name} (default)` : t.name;
        assert.ok(
          line.startsWith(label),
          `${name}: line ${i + 1} ${JSON.stringify(line)} should name ${label}`,
        );
        if (t.description)
          assert.ok(line.endsWith(t.description), `${name}: ${line} should end with the description`);
      });
    });
  });

  test("--call outline prints the target's build args, secrets and ssh; JSON carries the same", async () => {
    await inBatches(names, 4, async (name) => {
      const dir = join(corpusRoot, name);
      const flags = optionFlags(name, fixtureOptions(name));
      const want = expected(name).outline;
      const text = await polyarch(["build", "--call", "outline", ...flags, dir]);
      assert.equal(text.code, 0, `${name}: ${text.stderr}`);
      for (const a of want.args) {
        const row = text.stdout.split("\n").find((l) => l.startsWith(`${a.name} `) || l === a.name);
        assert.ok(row, `${name}: no row for ${a.name} in\n${text.stdout}`);
        if (a.value) assert.ok(row.includes(` ${a.value}`), `${name}: ${row} should show ${a.value}`);
      }
      if (want.args.length > 0) assert.match(text.stdout, /^BUILD ARG\s+VALUE\s+DESCRIPTION$/m);
      for (const s of want.secrets)
        assert.match(text.stdout, new RegExp(`^${s.name}\\s*${s.required ? "true" : ""}$`, "m"));
      for (const s of want.ssh)
        assert.match(text.stdout, new RegExp(`^${s.name}\\s*${s.required ? "true" : ""}$`, "m"));
      if (want.target) assert.match(text.stdout, new RegExp(`^TARGET:\\s+${want.target}$`, "m"));
      if (want.args.length + want.secrets.length === 0) return;

      const json = await polyarch(["build", "--call", "outline,format=json", ...flags, dir]);
      assert.equal(json.code, 0, `${name}: ${json.stderr}`);
      const doc = JSON.parse(json.stdout) as {
        args?: { name: string; value?: string }[];
        secrets?: { name: string }[];
      };
      assert.deepEqual(
        (doc.args ?? []).map((a) => [a.name, a.value ?? ""]),
        want.args.map((a) => [a.name, a.value]),
        name,
      );
      assert.deepEqual(
        (doc.secrets ?? []).map((s) => s.name),
        want.secrets.map((s) => s.name),
        name,
      );
    });
  });

  test("--check reports the expected findings and exits 1 when there are any (0 with ignorestatus)", async () => {
    await inBatches(names, 4, async (name) => {
      const dir = join(corpusRoot, name);
      // The corpus's findings are BuildKit's, which never looks at the command's inputs: give every secret
      // and ssh id the Dockerfile mounts, so polyarch's input checks (build-inputs.ts) have nothing to say.
      const outline = expected(name).outline;
      const flags = [
        ...optionFlags(name, fixtureOptions(name)),
        ...outline.secrets.flatMap((x) => ["--secret", `id=${x.name},env=HOME`]),
        ...outline.ssh.flatMap((x) => ["--ssh", `${x.name}=/dev/null`]),
      ];
      const want = expected(name).check;
      const failing = want.findings.length > 0 || want.error !== undefined;
      const text = await polyarch(["build", "--check", ...flags, dir]);
      assert.equal(text.code, failing ? 1 : 0, `${name}: exit code\n${text.stdout}${text.stderr}`);
      if (!failing) assert.equal(text.stdout, "Check complete, no warnings found.\n", name);
      for (const f of want.findings) {
        assert.ok(
          text.stdout.includes(`WARNING: ${f.rule} - https://docs.docker.com/go/dockerfile/rule/`),
          `${name}: ${f.rule}`,
        );
        assert.ok(text.stdout.includes(`Dockerfile:${f.line}\n`), `${name}: location of ${f.rule}`);
      }
      if (want.findings.length > 0)
        assert.match(text.stdout, /^Check complete, \d+ warnings? ha(s|ve) been found!$/m);
      if (want.error !== undefined)
        assert.ok(text.stdout.includes(`ERROR: ${want.error}`), `${name}: build error`);
      if (want.violation !== undefined) assert.ok(text.stdout.includes(`ERROR: ${want.violation}`), name);
      if (!failing) return;

      const json = await polyarch(["build", "--call", "check,format=json,ignorestatus=true", ...flags, dir]);
      assert.equal(json.code, 0, `${name}: ignorestatus\n${json.stderr}`);
      const doc = JSON.parse(json.stdout) as { warnings: { ruleName: string }[] };
      assert.deepEqual(
        doc.warnings.map((w) => w.ruleName),
        want.findings.map((f) => f.rule),
        name,
      );
    });
  });

  test("without --call, a base image that cannot be reached is a positioned error", async () => {
    const r = await polyarch(["build", "-f", "-", "-"], {
      input: "FROM alpine\nFROM 127.0.0.1:1/nothing:1 AS base\nRUN true\n",
    });
    assert.equal(r.code, 1);
    assert.equal(r.stdout, "");
    assert.match(
      r.stderr,
      /^error: <stdin>:2:\d+: 127\.0\.0\.1:1\/nothing:1 .*cannot reach registry 127\.0\.0\.1:1: connection refused/m,
    );
    assert.match(r.stderr, /^hint: /m);
  });

  test("-f is relative to the working directory and may be read from stdin", async () => {
    const dir = join(corpusRoot, "multi-target");
    const rel = relative(repo, dir);
    const viaFile = await polyarch(["build", "--call", "targets", "-f", join(rel, "Dockerfile"), rel]);
    assert.equal(viaFile.code, 0, viaFile.stderr);
    assert.match(viaFile.stdout, /^prod \(default\) production image$/m);
    const viaStdin = await polyarch(["build", "--call", "targets", "-f", "-", dir], {
      input: "FROM busybox AS only\n",
    });
    assert.equal(viaStdin.stdout, "TARGET         DESCRIPTION\nonly (default)\n");
  });

  test("a Dockerfile mistake is a positioned error with the line and a caret", async () => {
    const r = await polyarch(["build", "--check", "-f", "-", "."], { input: "FROM busybox\nRUNN echo hi\n" });
    assert.equal(r.code, 1);
    assert.equal(
      r.stderr,
      "error: <stdin>:2:1: unknown instruction: RUNN (did you mean RUN?)\n 2 | RUNN echo hi\n     ^\n",
    );
  });

  test("bad flags are one-line errors", async () => {
    const cases: [string[], RegExp][] = [
      [["--call", "explode"], /invalid --call "explode": unknown function "explode"/],
      [["--call", "outline,format=yaml"], /invalid output format "yaml"/],
      [["--platform", "linux/"], /invalid platform/],
      [["--build-context", "Bad=."], /invalid --build-context name "Bad"/],
      [["--progress", "fancy"], /invalid --progress "fancy"/],
      [["--target", "nope", "--call", "outline"], /target stage "nope" could not be found/],
    ];
    for (const [args, message] of cases) {
      const r = await polyarch(["build", ...args, join(corpusRoot, "multi-target")]);
      assert.equal(r.code, 1, args.join(" "));
      assert.match(r.stderr, message);
      assert.doesNotMatch(r.stderr, /at .*\.ts:\d+/, "no stack trace");
    }
  });

  test("--print-graph shows one output per platform and the stages they share", async () => {
    const r = await polyarch([
      "build",
      "--print-graph",
      "--platform",
      "linux/amd64,linux/arm64",
      join(corpusRoot, "java-maven"),
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^output linux\/amd64: [0-9a-f]{12}$/m);
    assert.match(r.stdout, /^output linux\/arm64: [0-9a-f]{12}$/m);
    assert.match(r.stdout, /^\d+ vertices$/m);
  });

  test("--check names what the command must give: --ssh, --secret and --allow for the steps that need them", async () => {
    const df = [
      "FROM scratch",
      "RUN --mount=type=ssh,id=deploy,required=true true",
      "RUN --mount=type=secret,id=token true",
      "RUN --network=host true",
      "RUN --security=insecure true",
      "",
    ].join("\n");
    const bare = await polyarch(
      ["build", "--check", "--platform", "linux/amd64,linux/arm64", "-f", "-", "."],
      {
        input: df,
      },
    );
    assert.equal(bare.code, 1, bare.stderr);
    assert.match(bare.stdout, /^Check complete, 4 warnings have been found!$/m);
    assert.match(
      bare.stdout,
      /WARNING: SshNotForwarded .*\n.*add --ssh deploy \(the mount is required: the build fails\)\n.*:2\n/,
    );
    assert.match(bare.stdout, /WARNING: SecretNotProvided .*\n.*add --secret id=token,src=FILE .*\n.*:3\n/);
    assert.match(bare.stdout, /RUN --network=host needs --allow network.host .*\n.*:4\n/);
    assert.match(bare.stdout, /RUN --security=insecure needs --allow security.insecure .*\n.*:5\n/);

    const given = await polyarch(
      [
        "build",
        "--check",
        "--ssh",
        "deploy=/dev/null",
        "--secret",
        "id=token,env=HOME",
        "--allow",
        "network.host,security.insecure",
        "-f",
        "-",
        ".",
      ],
      { input: df },
    );
    assert.equal(given.code, 0, given.stdout + given.stderr);
    assert.equal(given.stdout, "Check complete, no warnings found.\n");

    const skipped = await polyarch(["build", "--check", "-f", "-", "."], {
      input: `# check=skip=SshNotForwarded,SecretNotProvided,EntitlementNotGranted\n${df}`,
    });
    assert.equal(skipped.code, 0, skipped.stdout);
  });
});
