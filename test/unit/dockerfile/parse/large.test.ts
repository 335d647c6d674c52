import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { parseDockerfile } from "../../../../src/dockerfile/parse/index.ts";
import { expandWord } from "../../../../src/dockerfile/shell/index.ts";

// A sanity check that a large file parses completely; speed is measured in bench/, not asserted here.
function largeDockerfile(stages: number): string {
  const parts = ["# syntax=docker/dockerfile:1", "ARG BASE=alpine:3.20"];
  for (let s = 0; s < stages; s++) {
    parts.push(
      `# stage${s} builds part ${s}`,
      `FROM --platform=$BUILDPLATFORM \${BASE} AS stage${s}`,
      "ARG TARGETARCH VERSION=1.0",
      `ENV PART=${s} PATH="/opt/bin:$PATH"`,
      "WORKDIR /src",
      "COPY --link . .",
      "RUN --mount=type=cache,target=/root/.cache \\",
      "    make -j4 ARCH=$TARGETARCH \\",
      "    && strip out/app",
      "RUN <<EOF",
      "echo building",
      "EOF",
      `COPY --from=stage${Math.max(0, s - 1)} /out /prev`,
      'CMD ["app"]',
    );
  }
  return `${parts.join("\n")}\n`;
}

describe("large files", () => {
  it("parses a 2,000-line Dockerfile and expands its words", (t) => {
    const text = largeDockerfile(143);
    const lines = text.split("\n").length - 1;
    assert.ok(lines >= 2000, `${lines} lines`);
    const start = performance.now();
    const ast = parseDockerfile(text);
    const paths = new Set<string>();
    for (const i of ast.instructions) {
      if (i.keyword !== "ENV") continue;
      for (const p of i.pairs) if (p.key === "PATH") paths.add(expandWord(p.value, { PATH: "/usr/bin" }));
    }
    t.diagnostic(`parsed ${lines} lines in ${(performance.now() - start).toFixed(1)} ms`);
    assert.equal(ast.instructions.length, 1 + 143 * 9);
    assert.deepEqual([...paths], ["/opt/bin:/usr/bin"]);
    assert.equal(ast.instructions.filter((i) => i.heredocs.length === 1).length, 143);
  });
});
