// biome-ignore-all lint/suspicious/noTemplateCurlyInString: these strings are Dockerfile text, not templates
// Property-based check of the planner over mutated Dockerfiles, random options and resolvers: whatever
// the parser accepts, the planner either plans (a graph that round-trips through JSON) or throws a
// UserError with a Dockerfile location; never anything else, never a hang (the suite timeout catches one).
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { parseDockerfile } from "../../../../src/dockerfile/parse/index.ts";
import { planBuild } from "../../../../src/dockerfile/plan/index.ts";
import type { ImageMetadataResolver, ResolvedImage } from "../../../../src/dockerfile/plan/types.ts";
import { UserError } from "../../../../src/errors/user-error.ts";
import { graphFromJson, graphToJson } from "../../../../src/graph/serialize.ts";
import type { Digest } from "../../../../src/oci/digest.ts";
import { type Platform, parsePlatform } from "../../../../src/oci/platform.ts";

const scale = Math.max(1, Number(process.env.POLYARCH_FUZZ_SCALE ?? "1") || 1);

const seeds = [
  `ARG GO=1.22
ARG BASE=alpine
FROM --platform=$BUILDPLATFORM golang:\${GO} AS build
WORKDIR /src
COPY go.* ./
RUN --mount=type=cache,target=/root/.cache,id=go --mount=type=bind,source=.,target=/ctx go mod download
ARG TARGETOS TARGETARCH
RUN GOOS=$TARGETOS GOARCH=$TARGETARCH go build -o /out/app
FROM \${BASE}:3.20 AS runtime
COPY --from=build --chown=app:app --chmod=0755 /out/app /usr/bin/
USER app
EXPOSE 8080 9000-9002/udp
HEALTHCHECK --interval=30s CMD ["app", "health"]
ENTRYPOINT ["app"]
`,
  `FROM scratch AS base
ONBUILD RUN echo triggered
ENV A=1 B="two words"
LABEL a=b
FROM base AS child
ARG X=\${A:-z}
RUN --mount=type=secret,id=tok,env=TOKEN --mount=type=ssh --network=none echo $X
COPY --link <<EOF /etc/x
hello $A
EOF
WORKDIR sub
VOLUME ["/v"]
STOPSIGNAL 9
SHELL ["/bin/bash", "-c"]
CMD echo hi
FROM child
COPY --from=0 / /
COPY --parents ./a/./b /c/
ADD https://example.com/f.tgz /opt/
ADD --keep-git-dir=true https://github.com/a/b.git#main /src
`,
  `FROM alpine AS a
RUN --mount=type=tmpfs,target=/t,size=1m --mount=type=cache,target=/c,sharing=locked,uid=1,gid=2,mode=0700 true
FROM a AS b
COPY --from=a /x /y
FROM busybox
COPY --from=b /y /z
COPY --from=nginx:1.27 /etc/nginx /n
RUN <<-SCRIPT
	#!/bin/sh
	echo $TARGETARCH
	SCRIPT
`,
];

const chunks = [
  "$",
  "${",
  "}",
  "--from=",
  "--from=a",
  "--from=9",
  "--mount=type=",
  "type=bind,",
  "from=a,",
  "target=/",
  ",",
  "=",
  "/../",
  "..",
  "ARG TARGETARCH\n",
  "FROM a\n",
  "FROM scratch AS a\n",
  " AS ",
  "--platform=",
  "$BUILDPLATFORM",
  "--link",
  "--chmod=",
  "--chown=",
  "<<EOF\nx\nEOF\n",
  "ONBUILD ",
  "ENTRYPOINT ",
  "HEALTHCHECK ",
  "NONE",
  "\n",
  " ",
  ":",
  "@sha256:",
  "0",
];

type Mutation =
  | { kind: "delete" | "insert"; at: number; len: number; text: string }
  | { kind: "swap"; a: number; b: number };

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({
    kind: fc.constantFrom("delete" as const, "insert" as const),
    at: fc.nat(),
    len: fc.integer({ min: 1, max: 8 }),
    text: fc.oneof(fc.constantFrom(...chunks), fc.string({ maxLength: 3 })),
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
  const at = m.at % (text.length + 1);
  return m.kind === "delete"
    ? text.slice(0, at) + text.slice(at + m.len)
    : text.slice(0, at) + m.text + text.slice(at);
}

const platforms = ["linux/amd64", "linux/arm64", "linux/arm/v7", "linux/s390x"].map(parsePlatform);

/** Knows every image; some carry ONBUILD triggers (valid or not), some fail like a registry would. */
function resolver(triggers: string[], failing: boolean): ImageMetadataResolver {
  return {
    async resolveImage(ref: string, platform: Platform): Promise<ResolvedImage> {
      if (failing && ref.includes("nginx")) throw new UserError(`${ref}: not found`);
      return {
        ref,
        digest: `sha256:${"d".repeat(64)}` as Digest,
        config: {
          architecture: platform.architecture,
          os: platform.os,
          rootfs: { type: "layers", diff_ids: [] },
          config: { Env: ["A=1"], WorkingDir: "/w", User: "u", OnBuild: triggers },
        },
      };
    },
  };
}

describe("planner properties", () => {
  it("plans or throws a positioned UserError for mutated Dockerfiles and random options", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...seeds),
        fc.array(mutation, { minLength: 0, maxLength: 6 }),
        fc.subarray(platforms, { minLength: 1 }),
        fc.constantFrom(undefined, undefined, undefined, "a", "build", "child", "nope"),
        fc.dictionary(fc.constantFrom("GO", "BASE", "X", "TARGETARCH"), fc.string({ maxLength: 5 })),
        fc.option(
          fc.tuple(
            fc.subarray(["RUN echo on", "COPY --from=a / /", "RUNN x", "ENV", "COPY --chmod=9 a /"]),
            fc.boolean(),
          ),
          { nil: undefined },
        ),
        async (seed, ms, plats, target, buildArgs, res) => {
          const text = ms.reduce(mutate, seed);
          let ast: ReturnType<typeof parseDockerfile>;
          try {
            ast = parseDockerfile(text);
          } catch {
            return; // the parser's own property test covers its errors
          }
          try {
            const plan = await planBuild(ast, {
              platforms: plats,
              buildPlatform: platforms[0]!,
              ...(target === undefined ? {} : { target }),
              buildArgs,
              ...(res ? { resolver: resolver(res[0], res[1]) } : {}),
            });
            assert.equal(plan.platforms.length, plats.length);
            assert.deepEqual(graphFromJson(graphToJson(plan.graph)), plan.graph);
          } catch (e) {
            if (!(e instanceof UserError)) throw e;
            // Only a missing --target has no Dockerfile position (it comes from the command line).
            if (!/^target stage/.test(e.message)) assert.ok(e.location, `no location: ${e.message}`);
          }
        },
      ),
      { numRuns: 300 * scale },
    );
  });
});
