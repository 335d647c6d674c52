// biome-ignore-all lint/suspicious/noTemplateCurlyInString: these strings are Dockerfile and shell text, not templates
// Property-based checks over random and mutated Dockerfiles: the parser and the shell expansion either
// succeed or throw a UserError that carries a location; they never throw anything else and never hang
// (the suite's timeout catches a hang). Run counts are bounded so the file takes a few seconds.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import type { DockerfileAst, Instruction, Word } from "../../../../src/dockerfile/ast.ts";
import { KEYWORDS, parseDockerfile } from "../../../../src/dockerfile/parse/index.ts";
import {
  expandWithMatches,
  expandWord,
  expandWords,
  referencedVariables,
} from "../../../../src/dockerfile/shell/index.ts";
import { UserError } from "../../../../src/errors/user-error.ts";

// POLYARCH_FUZZ_SCALE=20 runs twenty times as many cases, for a deeper search by hand.
const scale = Math.max(1, Number(process.env.POLYARCH_FUZZ_SCALE ?? "1") || 1);
const runs = (n: number) => n * scale;

const seeds = [
  `# syntax=docker/dockerfile:1
ARG GO_VERSION=1.22
# base is the build stage
FROM --platform=$BUILDPLATFORM golang:\${GO_VERSION} AS base
ARG TARGETOS TARGETARCH
WORKDIR /src
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod \\
    go mod download
COPY . .
RUN --mount=type=cache,target=/root/.cache/go-build \\
    GOOS=$TARGETOS GOARCH=$TARGETARCH go build -o /out/app ./cmd/app

FROM alpine:3.20
RUN apk add --no-cache ca-certificates
COPY --from=base --chmod=755 /out/app /usr/local/bin/app
USER 65534:65534
EXPOSE 8080/tcp
HEALTHCHECK --interval=30s --timeout=3s CMD ["app", "health"]
ENTRYPOINT ["app"]
CMD ["serve"]
`,
  `FROM debian:bookworm-slim AS runtime
ENV DEBIAN_FRONTEND=noninteractive LANG="C.UTF-8"
RUN <<EOF
set -eux
apt-get update
apt-get install -y --no-install-recommends curl
rm -rf /var/lib/apt/lists/*
EOF
COPY <<-"CONF" /etc/app.conf
	listen = 0.0.0.0:\${PORT:-80}
	CONF
LABEL org.opencontainers.image.title="demo" version=1.0
ONBUILD COPY . /app
VOLUME ["/data"]
STOPSIGNAL SIGTERM
SHELL ["/bin/bash", "-o", "pipefail", "-c"]
RUN cat <<A | tee /a && cat 3<<B
a \${X%%.*} \${Y//a/b}
A
b
B
`,
  `# escape=\`
FROM mcr.microsoft.com/windows/nanoserver:ltsc2022
ENV APP_HOME=C:\\app
WORKDIR \${APP_HOME}
COPY app.exe C:\\app\\
RUN dir C:\\app && \`
    echo done
CMD ["C:\\\\app\\\\app.exe"]
`,
  `FROM node:22 AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci
FROM deps AS build
COPY --link --exclude=*.md . .
RUN npm run build
FROM nginx:1.27
COPY --from=build /app/dist /usr/share/nginx/html
ENV LEGACY value with spaces
MAINTAINER someone@example.com
ADD --checksum=sha256:24454f830cdb571e2c4ad15481119c43b3cafd48dd869a9b2945d1036d1dc68d https://example.com/a.tgz /tmp/
HEALTHCHECK NONE
`,
];

const chunks = [
  "\\",
  "`",
  '"',
  "'",
  "$",
  "${",
  "}",
  "{",
  "[",
  "]",
  "<<",
  "<<-",
  "EOF",
  "\n",
  "\r\n",
  "\r",
  "#",
  "=",
  "--",
  " ",
  "\t",
  ":",
  "-",
  "?",
  "%",
  "/",
  "\\\n",
  "# escape=`\n",
  "# syntax=x\n",
  "\uFEFF",
  "ONBUILD ",
  "RUN ",
  "FROM ",
  " AS ",
  "\u00a0",
  "😀",
  "\u0000",
  '["a", 1]',
  '["a"]',
  "--mount=",
  "--link",
  "NONE",
  "CMD ",
];

type Mutation =
  | { kind: "delete"; at: number; len: number }
  | { kind: "duplicate"; at: number; len: number }
  | { kind: "insert"; at: number; text: string }
  | { kind: "swap"; a: number; b: number };

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant("delete" as const), at: fc.nat(), len: fc.integer({ min: 1, max: 6 }) }),
  fc.record({ kind: fc.constant("duplicate" as const), at: fc.nat(), len: fc.integer({ min: 1, max: 20 }) }),
  fc.record({
    kind: fc.constant("insert" as const),
    at: fc.nat(),
    text: fc.oneof(fc.constantFrom(...chunks), fc.string({ maxLength: 4 })),
  }),
  fc.record({ kind: fc.constant("swap" as const), a: fc.nat(), b: fc.nat() }),
);

function mutate(text: string, m: Mutation): string {
  if (m.kind === "swap") {
    const lines = text.split("\n");
    const a = m.a % lines.length;
    const b = m.b % lines.length;
    [lines[a], lines[b]] = [lines[b]!, lines[a]!];
    return lines.join("\n");
  }
  const at = text.length === 0 ? 0 : m.at % (text.length + 1);
  if (m.kind === "delete") return text.slice(0, at) + text.slice(at + m.len);
  if (m.kind === "duplicate") return text.slice(0, at) + text.slice(at, at + m.len) + text.slice(at);
  return text.slice(0, at) + m.text + text.slice(at);
}

const mutated = fc
  .tuple(fc.constantFrom(...seeds), fc.array(mutation, { minLength: 1, maxLength: 8 }))
  .map(([seed, ms]) => ms.reduce(mutate, seed));

const word = fc.oneof(
  fc.constantFrom(
    "a",
    "/x",
    "$A",
    "${A:-b}",
    '"q r"',
    "'s'",
    "<<EOF",
    "80/tcp",
    '["j"]',
    "k=v",
    "AS",
    "--x=1",
  ),
  fc.string({ maxLength: 6 }),
);
const line = fc.oneof(
  fc
    .tuple(
      fc.constantFrom(...KEYWORDS, "run", "from", "RUNN", "#", ""),
      fc.array(
        fc.constantFrom("--mount=type=cache,target=/c", "--link", "--from=a", "--platform=$P", "--retries=1"),
        {
          maxLength: 2,
        },
      ),
      fc.array(word, { maxLength: 4 }),
      fc.constantFrom("", " \\", "\r", " `"),
    )
    .map(([k, flags, args, end]) => [k, ...flags, ...args].join(" ") + end),
  fc.constantFrom(...chunks),
);
const random = fc
  .array(line, { minLength: 1, maxLength: 12 })
  .map((ls) => `FROM scratch\n${ls.join("\n")}\n`);

const env = { A: "1", B: "", P: "linux/amd64", X: "a.b.c", Y: "banana", S: " sp  aced " };

function wordsOf(i: Instruction): Word[] {
  const ws: Word[] = [i.args];
  switch (i.keyword) {
    case "FROM":
      ws.push(i.image);
      break;
    case "COPY":
    case "ADD":
      ws.push(...i.sources, i.dest);
      break;
    case "EXPOSE":
      ws.push(...i.ports);
      break;
    case "VOLUME":
      ws.push(...i.paths);
      break;
    case "WORKDIR":
      ws.push(i.path);
      break;
    case "USER":
      ws.push(i.user);
      break;
    case "ARG":
      for (const d of i.declarations)
        if (d.defaultValue !== undefined) ws.push({ value: d.defaultValue, pos: d.valuePos! });
      break;
    case "ENV":
    case "LABEL":
      for (const p of i.pairs) ws.push({ value: p.key, pos: p.pos }, { value: p.value, pos: p.valuePos });
      break;
    case "ONBUILD":
      if (i.trigger) ws.push(...wordsOf(i.trigger));
      break;
    default:
      break;
  }
  for (const f of i.flags) if (f.value !== undefined) ws.push({ value: f.value, pos: f.valuePos ?? f.pos });
  return ws;
}

function assertLocated(e: unknown, lineCount: number): void {
  if (!(e instanceof UserError)) throw e;
  assert.ok(e.location, `UserError without a location: ${e.message}`);
  assert.ok(e.location.line >= 1 && e.location.line <= Math.max(1, lineCount), `line ${e.location.line}`);
  assert.ok(e.location.column >= 1, `column ${e.location.column}`);
}

function checkAst(ast: DockerfileAst): void {
  for (const i of ast.instructions) {
    assert.ok(KEYWORDS.includes(i.keyword));
    const src = ast.lines[i.pos.line - 1];
    assert.ok(src !== undefined, "instruction line exists");
    // the keyword starts there (it may continue on the next line: `C\` + `OPY` is COPY)
    assert.equal(src[i.pos.column - 1]?.toUpperCase(), i.keyword[0]);
    assert.ok(i.range.end.line >= i.range.start.line && i.range.end.line <= ast.lines.length);
    for (const f of i.flags) assert.equal(ast.lines[f.pos.line - 1]?.[f.pos.column - 1], "-");
    for (const h of i.heredocs) assert.ok(h.endLine <= ast.lines.length && h.bodyStartLine <= h.endLine);
    const source = { file: ast.file, lines: ast.lines };
    for (const w of wordsOf(i)) {
      for (const escapeChar of [ast.escapeChar]) {
        try {
          expandWord(w.value, env, { escapeChar, at: { source, pos: w.pos } });
          expandWords(w.value, env, { escapeChar });
          referencedVariables(w.value, { escapeChar });
        } catch (e) {
          if (!(e instanceof UserError)) throw e;
          assert.ok(e.message.startsWith("failed to process"), e.message);
        }
      }
    }
  }
}

function check(text: string): void {
  let ast: DockerfileAst;
  try {
    ast = parseDockerfile(text);
  } catch (e) {
    assertLocated(e, text.split("\n").length);
    return;
  }
  checkAst(ast);
}

describe("property: parser", { timeout: 120_000 }, () => {
  it("the seeds parse", () => {
    for (const s of seeds) checkAst(parseDockerfile(s));
  });

  it("mutated Dockerfiles parse or fail with a located UserError", () => {
    fc.assert(fc.property(mutated, check), { numRuns: runs(1500) });
  });

  it("random instruction sequences parse or fail with a located UserError", () => {
    fc.assert(fc.property(random, check), { numRuns: runs(800) });
  });

  it("arbitrary text parses or fails with a located UserError", () => {
    fc.assert(fc.property(fc.string({ maxLength: 200, unit: "binary" }), check), { numRuns: runs(500) });
  });
});

const shellText = fc
  .array(
    fc.oneof(
      fc.constantFrom(
        "$",
        "{",
        "}",
        ":",
        "-",
        "+",
        "?",
        "#",
        "%",
        "/",
        "'",
        '"',
        "\\",
        "`",
        " ",
        "*",
        "A",
        "B",
        "X",
        "1",
        "@",
        "<",
      ),
      fc.string({ maxLength: 2 }),
    ),
    { maxLength: 24 },
  )
  .map((parts) => parts.join(""));

describe("property: shell expansion", { timeout: 120_000 }, () => {
  it("succeeds or throws a UserError; every looked-up name is a referenced one", () => {
    fc.assert(
      fc.property(shellText, fc.constantFrom("\\" as const, "`" as const), (text, escapeChar) => {
        let r: ReturnType<typeof expandWithMatches>;
        try {
          r = expandWithMatches(text, env, { escapeChar });
        } catch (e) {
          if (!(e instanceof UserError)) throw e;
          return;
        }
        assert.deepEqual(expandWords(text, env, { escapeChar }), r.words);
        assert.equal(expandWord(text, env, { escapeChar }), r.value);
        const refs = new Set(referencedVariables(text, { escapeChar }));
        for (const n of [...r.matched, ...r.unmatched]) {
          if (/^[A-Za-z_]/.test(n))
            assert.ok(refs.has(n), `${n} missing from referencedVariables(${JSON.stringify(text)})`);
        }
        for (const w of r.words) assert.ok(w.length > 0);
      }),
      { numRuns: runs(3000) },
    );
  });

  it("with a location, errors are located", () => {
    const source = { file: "Dockerfile", lines: ["RUN x"] };
    fc.assert(
      fc.property(shellText, (text) => {
        try {
          expandWord(text, {}, { at: { source, pos: { line: 1, column: 5 } } });
        } catch (e) {
          assertLocated(e, 1);
        }
      }),
      { numRuns: runs(1000) },
    );
  });
});
