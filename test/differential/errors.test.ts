/**
 * Differential: a Dockerfile BuildKit rejects is rejected by polyarch too, and polyarch's message starts with
 * BuildKit's words (what users search the web for), followed by its own location and hint.
 */
import { after, before, test } from "node:test";
import { assertSameError, Differential } from "./support.ts";

let d: Differential;
before(async () => {
  d = await Differential.start();
});
after(() => d?.[Symbol.asyncDispose]());

const cases: { name: string; dockerfile: (base: string) => string; words: string }[] = [
  { name: "no stages", dockerfile: () => "ARG x=1\n", words: "dockerfile contains no stages to build" },
  {
    name: "unknown flag",
    dockerfile: (b) => `FROM ${b}\nRUN --mont=type=cache,target=/x true\n`,
    words: "unknown flag: --mont (did you mean mount?)",
  },
  {
    name: "chmod that is neither octal nor symbolic",
    dockerfile: () => "FROM scratch\nCOPY --chmod=64a Dockerfile /\n",
    words: "invalid chmod parameter: '64a'. it should be octal string and between 0 and 07777",
  },
  {
    name: "unknown instruction, suggested as BuildKit suggests",
    dockerfile: () => "FROM scratch\nFOO bar\n",
    words: "unknown instruction: FOO (did you mean FROM?)",
  },
  {
    name: "unknown instruction in lower case",
    dockerfile: () => "FROM scratch\ncopyy . .\n",
    words: "unknown instruction: copyy (did you mean copy?)",
  },
  {
    name: "COPY source missing",
    dockerfile: () => "FROM scratch\nCOPY nope /x\n",
    words: '"/nope": not found',
  },
  {
    name: "RUN network mode",
    dockerfile: () => "FROM scratch\nRUN --network=foo true\n",
    words: 'invalid network mode "foo"',
  },
  {
    name: "mount type",
    dockerfile: () => "FROM scratch\nRUN --mount=type=foo true\n",
    words: 'unsupported mount type "foo"',
  },
  {
    name: "EXPOSE protocol",
    dockerfile: () => "FROM scratch\nEXPOSE 80/xyz\n",
    words: 'invalid port: "80/xyz": invalid proto: xyz',
  },
  {
    name: "a stage copying from itself",
    dockerfile: () => "FROM scratch\nCOPY --from=0 Dockerfile /a\n",
    words: "circular dependency detected on stage: stage-0",
  },
  {
    name: "bad duration",
    dockerfile: () => "FROM scratch\nHEALTHCHECK --interval=abc CMD true\n",
    words: 'time: invalid duration "abc"',
  },
];

for (const c of cases) {
  test(`error words: ${c.name}`, async () => {
    const seen = await d.both({ Dockerfile: c.dockerfile(d.base) }, { output: "local" });
    assertSameError(seen, c.words);
  });
}
