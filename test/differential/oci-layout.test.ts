/**
 * Differential: `--build-context NAME=oci-layout://PATH[:TAG|@DIGEST]`, an image in an OCI layout directory
 * on the client, in FROM and COPY --from. BuildKit is given the same directory (`buildctl --oci-layout`,
 * named by digest as buildx sends it); what a user observes must be the same.
 */
import assert from "node:assert/strict";
import { cp, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { platformDirName } from "../../src/oci/platform.ts";
import { type BusyboxLayout, busyboxLayout } from "../harness/images.ts";
import { assertSameTree, Differential } from "./support.ts";

let d: Differential;
let layout: BusyboxLayout;
let dir: string;
let work: string;
before(async () => {
  d = await Differential.start();
  layout = await busyboxLayout();
  work = await mkdtemp(join(tmpdir(), "polyarch-oci-context-"));
  dir = join(work, "layout");
  await cp(layout.layout.dir, dir, { recursive: true });
});
after(async () => {
  await d?.[Symbol.asyncDispose]();
  if (work) await rm(work, { recursive: true, force: true });
});

const buildkitLayout = (digest: string) => [
  "--oci-layout",
  `bb=${dir}`,
  "--opt",
  `context:base=oci-layout://bb@${digest}`,
];

test("FROM an oci-layout context (its index, by the default tag latest) runs on the platform's image", async () => {
  // BuildKit's local export does not keep owners, so the RUN's result is compared through a scratch stage.
  const files = {
    Dockerfile: [
      "FROM base AS b",
      "RUN (uname -m; ls -ln /home; echo $PATH) > /x",
      "FROM scratch",
      "COPY --from=b /x /",
      "",
    ].join("\n"),
  };
  const seen = await d.both(files, {
    output: "local",
    buildkitArgs: buildkitLayout(layout.index.digest),
    polyarchArgs: ["--build-context", `base=oci-layout://${dir}`],
  });
  assertSameTree(seen);
  assert.match(String(seen.polyarch.tree?.[0]?.content), /^x86_64\n.*1000 +1000/s);
});

test("the final stage FROM an oci-layout context: the image config carries on from the layout's", async () => {
  const files = { Dockerfile: "FROM base\nENV ADDED=1\nRUN echo hi > /hi\n" };
  const seen = await d.both(files, {
    output: "oci",
    buildkitArgs: buildkitLayout(layout.index.digest),
    polyarchArgs: ["--build-context", `base=oci-layout://${dir}:latest`],
  });
  assert.ok(seen.buildkit.ok && seen.polyarch.ok, seen.buildkit.output + seen.polyarch.output);
  const pick = (c: Record<string, unknown> | undefined) => {
    const config = (c?.config ?? {}) as Record<string, unknown>;
    const history = ((c?.history ?? []) as { created_by?: string; empty_layer?: boolean }[]).map((h) => [
      h.created_by,
      h.empty_layer ?? false,
    ]);
    const rootfs = c?.rootfs as { diff_ids: string[] } | undefined;
    return { Env: config.Env, architecture: c?.architecture, history, layers: rootfs?.diff_ids.length };
  };
  assert.deepEqual(pick(seen.polyarch.config), pick(seen.buildkit.config));
});

test("COPY --from an oci-layout context named by a platform manifest's digest, and by its tag", async () => {
  const arm64 = layout.manifests.find((m) => m.platform?.architecture === "arm64")!;
  const files = { Dockerfile: "FROM scratch\nCOPY --from=base /bin/busybox /bb\n" };
  for (const value of [`${dir}@${arm64.digest}`, `${dir}:${platformDirName(arm64.platform!)}`]) {
    const seen = await d.both(files, {
      output: "local",
      platform: "linux/arm64",
      buildkitArgs: buildkitLayout(arm64.digest),
      polyarchArgs: ["--build-context", `base=oci-layout://${value}`],
    });
    assertSameTree(seen);
    assert.deepEqual(
      seen.polyarch.tree?.map((e) => e.path),
      ["bb"],
    );
  }
});
