/**
 * Differential: a base image with no entry for the build's platform but one the CPU also runs (only
 * linux/386 for an amd64 build). BuildKit's platform matcher takes it and warns InvalidBaseImagePlatform;
 * polyarch takes the same image, builds the same tree and gives the same warning.
 */
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { FixtureLayout } from "../harness/fixture-layout.ts";
import { skopeoPushLayout } from "../harness/images.ts";
import { assertSameTree, Differential } from "./support.ts";

let d: Differential;
let work: string;
let only386: string;
before(async () => {
  d = await Differential.start();
  work = await mkdtemp(join(tmpdir(), "polyarch-386-"));
  const layout = await new FixtureLayout(join(work, "layout")).init();
  const layer = await layout.writeLayer([
    { path: "from-386", type: "file", mode: 0o644, content: Buffer.from("i386 image\n") },
  ]);
  const { manifest } = await layout.writeImage({ os: "linux", architecture: "386" }, [
    { ...layer, createdBy: "fixture" },
  ]);
  layout.tag("latest", await layout.writeIndex([manifest]));
  await layout.finish();
  only386 = (await skopeoPushLayout(layout.dir, "latest", d.registry, "only386:latest", { all: true })).ref;
});
after(async () => {
  await d?.[Symbol.asyncDispose]();
  if (work) await rm(work, { recursive: true, force: true });
});

test("FROM an image that has only linux/386, built for linux/amd64: same files, InvalidBaseImagePlatform", async () => {
  const files = { Dockerfile: `FROM ${only386}\nCOPY x /x\n`, x: "x\n" };
  const seen = await d.both(files, { output: "local", platform: "linux/amd64" });
  assertSameTree(seen);
  const words = `Base image ${only386} was pulled with platform "linux/386", expected "linux/amd64" for current build`;
  // buildctl prints no warnings with a build; BuildKit's lint subrequest gives the finding.
  const check = await d.buildkit.check(await d.context(files), {});
  assert.match(check.output, /WARNING: InvalidBaseImagePlatform/);
  assert.ok(check.output.includes(words), check.output);
  assert.ok(seen.polyarch.output.includes(`InvalidBaseImagePlatform: ${words}`), seen.polyarch.output);
});
