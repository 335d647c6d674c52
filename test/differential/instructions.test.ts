/**
 * Differential: Dockerfile instructions whose meaning is easy to get subtly wrong, built by BuildKit and by
 * polyarch; what a user observes (the image config, the files, the error) must be the same.
 */
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { Differential } from "./support.ts";

let d: Differential;
before(async () => {
  d = await Differential.start();
});
after(() => d?.[Symbol.asyncDispose]());

const pick = (config: Record<string, unknown> | undefined) => {
  const c = (config?.config ?? {}) as Record<string, unknown>;
  return { Cmd: c.Cmd, Entrypoint: c.Entrypoint, Env: c.Env, StopSignal: c.StopSignal, Labels: c.Labels };
};

test("exec form: JSON followed by more text, or not an array of strings, is the shell form", async () => {
  const seen = await d.both(
    {
      Dockerfile: [`FROM ${d.base}`, `CMD ["a","b"] trailing`, "ENTRYPOINT []random", `LABEL x=1`, ""].join(
        "\n",
      ),
    },
    { output: "oci" },
  );
  assert.ok(seen.buildkit.ok && seen.polyarch.ok, seen.polyarch.output + seen.buildkit.output);
  assert.deepEqual(pick(seen.polyarch.config), pick(seen.buildkit.config));
  assert.deepEqual(pick(seen.polyarch.config).Cmd, ["/bin/sh", "-c", `["a","b"] trailing`]);
});

test('exec form: RUN ["echo","x"]this is invalid runs as a shell command and fails like BuildKit', async () => {
  const seen = await d.both(
    { Dockerfile: `FROM ${d.base}\nRUN ["echo","x"]this is invalid\n` },
    { output: "local" },
  );
  assert.ok(!seen.buildkit.ok, seen.buildkit.output);
  assert.ok(!seen.polyarch.ok, `polyarch built it:\n${seen.polyarch.output}`);
  assert.match(seen.buildkit.error, /\/bin\/sh -c \[\\"echo\\",\\"x\\"\]this is invalid.*exit code: 127/);
  assert.match(seen.polyarch.error, /exit code:? 127/);
});

const proxyAndStage = (base: string) =>
  [
    `FROM ${base} AS mystage`,
    "ARG TARGETSTAGE",
    "ARG FOO=1",
    `RUN echo "$HTTP_PROXY|$no_proxy|$TARGETSTAGE|$FOO" > /o`,
    "FROM mystage AS final",
    "ARG TARGETSTAGE",
    "RUN echo $TARGETSTAGE > /p",
    "",
  ].join("\n");
const proxyArgs = { HTTP_PROXY: "http://proxy.example:3128", no_proxy: "x.example" };

test("automatic args: proxy args reach RUN without ARG; TARGETSTAGE names the stage being built", async () => {
  const files = { Dockerfile: proxyAndStage(d.base) };
  for (const target of [undefined, "mystage"]) {
    const seen = await d.both(files, {
      output: "local",
      buildArgs: proxyArgs,
      ...(target ? { target } : {}),
    });
    assert.ok(seen.buildkit.ok && seen.polyarch.ok, seen.polyarch.output + seen.buildkit.output);
    // Only what the steps wrote: the base image's own tree is another comparison.
    const written = (tree: typeof seen.buildkit.tree) =>
      tree?.filter((e) => e.path === "o" || e.path === "p");
    assert.deepEqual(written(seen.polyarch.tree), written(seen.buildkit.tree));
    assert.equal(written(seen.polyarch.tree)?.length, target ? 1 : 2);
  }
});

test("automatic args: proxy args are kept out of the image history, declared args are in it", async () => {
  const seen = await d.both({ Dockerfile: proxyAndStage(d.base) }, { output: "oci", buildArgs: proxyArgs });
  assert.ok(seen.buildkit.ok && seen.polyarch.ok, seen.polyarch.output + seen.buildkit.output);
  const history = (c: Record<string, unknown> | undefined) =>
    ((c?.history ?? []) as { created_by?: string }[]).map((h) => h.created_by).slice(-5);
  assert.deepEqual(history(seen.polyarch.config), history(seen.buildkit.config));
  assert.ok(!JSON.stringify(seen.polyarch.config).includes("proxy.example"));
});
