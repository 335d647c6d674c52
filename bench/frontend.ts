// biome-ignore-all lint/suspicious/noTemplateCurlyInString: these strings are Dockerfile text, not templates
// Frontend speed: parsing and planning a generated ~2,000-line Dockerfile for 3 platforms, in-process, beside
// two baselines measured in the same run on input of the same size: reading the file, and JSON.parse of a
// same-size JSON document (a floor for "look at every byte once and build objects"). Runs are interleaved.
// Target (issue 3): parse + plan <= 50 ms (median). Prints a table; asserts nothing.
//
//   node bench/frontend.ts [--runs 40] [--lines 2000] [--keep]
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { parseDockerfile } from "../src/dockerfile/parse/index.ts";
import { planBuild } from "../src/dockerfile/plan/index.ts";
import { countVertices } from "../src/graph/index.ts";
import type { Platform } from "../src/oci/platform.ts";

const { values } = parseArgs({
  options: {
    runs: { type: "string", default: "40" },
    lines: { type: "string", default: "2000" },
    keep: { type: "boolean", default: false },
  },
});
const runs = Number(values.runs);
const targetLines = Number(values.lines);
const platforms: Platform[] = [
  { os: "linux", architecture: "amd64" },
  { os: "linux", architecture: "arm64" },
  { os: "linux", architecture: "arm", variant: "v7" },
];
const buildPlatform: Platform = { os: "linux", architecture: "amd64" };

/**
 * A large but ordinary multi-stage Dockerfile: global ARGs, toolchain stages on $BUILDPLATFORM that
 * cross-compile with TARGETARCH, per-platform runtime stages with ENV/LABEL/WORKDIR/COPY/RUN (cache and
 * secret mounts, heredocs, continuations), and a final stage that gathers the others with COPY --from.
 */
function generateDockerfile(lines: number): string {
  const out: string[] = [
    "# syntax=docker/dockerfile:1",
    "# ALPINE alpine release used by every stage",
    "ARG ALPINE=3.20",
    "ARG GO_VERSION=1.22",
    "ARG REGISTRY=docker.io/library",
  ];
  let stage = 0;
  const names: string[] = [];
  while (out.length < lines - 12) {
    const name = `part-${stage}`;
    const cross = stage % 3 === 0;
    out.push("", `# ${name} builds component ${stage}`);
    out.push(
      cross
        ? `FROM --platform=$BUILDPLATFORM \${REGISTRY}/golang:\${GO_VERSION}-alpine\${ALPINE} AS ${name}`
        : `FROM \${REGISTRY}/alpine:\${ALPINE} AS ${name}`,
    );
    out.push(
      `ARG COMPONENT=${stage}`,
      "WORKDIR /src/$COMPONENT",
      `ENV APP_HOME=/opt/app-${stage} LOG_LEVEL=info`,
    );
    if (stage > 0 && stage % 4 === 0) out.push(`COPY --from=${names[stage - 1]} /out/ /deps/`);
    for (let step = 0; step < 20 && out.length < lines - 12; step++) {
      switch (step % 6) {
        case 0:
          out.push(`COPY src/component-${stage}/file-${step}.txt ./`);
          break;
        case 1:
          out.push(
            "RUN --mount=type=cache,target=/root/.cache \\",
            `    mkdir -p /out/${step} \\`,
            `    && echo "component $COMPONENT step ${step}" > /out/${step}/info \\`,
            "    && ls -la /out",
          );
          break;
        case 2:
          out.push(`LABEL org.example.component="${stage}" org.example.step="${step}"`);
          break;
        case 3:
          out.push(`RUN <<EOF`, "set -eu", `echo "heredoc step ${step}" >> /out/log`, "EOF");
          break;
        case 4:
          out.push(`ENV STEP_${step}=value-${step} PATH=/opt/bin-${stage}:$PATH`);
          break;
        case 5:
          out.push(
            cross ? "ARG TARGETOS TARGETARCH" : "ARG TARGETPLATFORM",
            cross
              ? `RUN --mount=type=secret,id=token GOOS=$TARGETOS GOARCH=$TARGETARCH go build -o /out/bin-${step} ./...`
              : `RUN echo "$TARGETPLATFORM" > /out/platform-${step}`,
          );
          break;
      }
    }
    names.push(name);
    stage++;
  }
  out.push("", "# final runtime image", "FROM ${REGISTRY}/alpine:${ALPINE} AS final");
  for (const n of names) out.push(`COPY --from=${n} /out/ /opt/${n}/`);
  out.push("USER 65532:65532", 'ENTRYPOINT ["/opt/part-0/bin-5"]');
  return `${out.join("\n")}\n`;
}

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

const text = generateDockerfile(targetLines);
const dir = await mkdtemp(join(tmpdir(), "polyarch-bench-frontend-"));
const file = join(dir, "Dockerfile");
await writeFile(file, text);
// A JSON document of the same size: the Dockerfile's lines as an array of small records.
const json = (() => {
  const records = text.split("\n").map((line, i) => ({ n: i + 1, line }));
  let doc = JSON.stringify(records);
  while (doc.length < text.length) doc = JSON.stringify([...records, ...records.slice(0, 50)]);
  return doc;
})();

type Sample = { read: number; json: number; parse: number; plan: number; total: number };
const samples: Sample[] = [];
let vertices = 0;
const time = async <T>(f: () => T | Promise<T>): Promise<[T, number]> => {
  const t0 = performance.now();
  const r = await f();
  return [r, performance.now() - t0];
};

try {
  for (let i = 0; i < runs + 5; i++) {
    const [, read] = await time(() => readFile(file, "utf8"));
    const [, jsonMs] = await time(() => JSON.parse(json));
    const [ast, parse] = await time(() => parseDockerfile(text, { file: "Dockerfile" }));
    const [plan, planMs] = await time(() => planBuild(ast, { platforms, buildPlatform }));
    vertices = countVertices(plan.graph);
    if (i >= 5) samples.push({ read, json: jsonMs, parse, plan: planMs, total: parse + planMs });
  }
} finally {
  if (!values.keep) await rm(dir, { recursive: true, force: true });
}

const rows: [string, number[]][] = [
  ["read the file (baseline)", samples.map((s) => s.read)],
  ["JSON.parse, same size (baseline)", samples.map((s) => s.json)],
  ["parse", samples.map((s) => s.parse)],
  ["plan (3 platforms)", samples.map((s) => s.plan)],
  ["parse + plan", samples.map((s) => s.total)],
];
const lineCount = text.split("\n").length - 1;
process.stdout.write(
  `Dockerfile: ${lineCount} lines, ${(text.length / 1024).toFixed(0)} KiB, ${
    text.split("\nFROM ").length - 1
  } stages; graph: ${vertices} vertices for ${platforms.length} platforms; ${runs} runs after 5 warm-up\n\n`,
);
const w = Math.max(...rows.map(([n]) => n.length));
process.stdout.write(`${"".padEnd(w)}  ${"median ms".padStart(10)}  ${"min ms".padStart(8)}\n`);
for (const [name, xs] of rows) {
  process.stdout.write(
    `${name.padEnd(w)}  ${median(xs).toFixed(2).padStart(10)}  ${Math.min(...xs)
      .toFixed(2)
      .padStart(8)}\n`,
  );
}
const total = median(samples.map((s) => s.total));
const jsonMedian = median(samples.map((s) => s.json));
process.stdout.write(
  `\nparse + plan: ${total.toFixed(1)} ms median (target <= 50 ms: ${total <= 50 ? "met" : "NOT met"}), ` +
    `${(total / jsonMedian).toFixed(1)}x JSON.parse of the same size\n`,
);
if (values.keep) process.stdout.write(`kept ${file}\n`);
