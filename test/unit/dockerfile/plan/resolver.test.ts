import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { UserError } from "../../../../src/errors/user-error.ts";
import { amd64, arm64, chain, envOf, execs, FakeResolver, history, plan } from "./helpers.ts";

describe("base images through a resolver", () => {
  it("inherit ENV, WORKDIR and USER, and pin the image source to the resolved digest", async () => {
    const resolver = new FakeResolver().add("docker.io/library/node:22", {
      config: {
        Env: ["PATH=/opt/node/bin:/usr/bin", "NODE_VERSION=22"],
        WorkingDir: "/usr/src",
        User: "node",
      },
    });
    const p = await plan(["FROM node:22", "RUN npm ci", "ENV NODE_ENV=production"], { resolver });
    const run = execs(p)[0]!;
    assert.deepEqual(run.env, ["PATH=/opt/node/bin:/usr/bin", "NODE_VERSION=22"]);
    assert.equal(run.cwd, "/usr/src");
    assert.equal(run.user, "node");
    const base = chain(p)[0]!.vertex;
    assert.deepEqual(base.op, {
      kind: "source",
      source: {
        type: "image",
        ref: "docker.io/library/node:22",
        digest: `sha256:${"5".repeat(64)}`,
        platform: amd64,
      },
    });
    assert.equal(base.meta?.name, `[1/2] FROM docker.io/library/node:22@sha256:${"5".repeat(64)}`);
    const plat = p.platforms[0]!;
    assert.equal(plat.configComplete, true);
    assert.deepEqual(plat.baseImage, {
      ref: "docker.io/library/node:22",
      digest: `sha256:${"5".repeat(64)}`,
    });
    assert.equal(plat.image.created, undefined);
    assert.equal(plat.image.rootfs.diff_ids.length, 1);
    assert.deepEqual(history(p), [
      "/bin/sh -c #(nop) ADD file:abc in / ",
      "RUN /bin/sh -c npm ci # buildkit",
      "ENV NODE_ENV=production",
    ]);
    assert.deepEqual(plat.image.config?.Env, [
      "PATH=/opt/node/bin:/usr/bin",
      "NODE_VERSION=22",
      "NODE_ENV=production",
    ]);
  });

  it("resolve each image once per platform, whatever uses it", async () => {
    const resolver = new FakeResolver().add("docker.io/library/alpine:3.20", {});
    await plan(
      ["FROM alpine:3.20 AS a", "FROM alpine:3.20 AS b", "COPY --from=a / /", "COPY --from=alpine:3.20 / /"],
      {
        resolver,
        platforms: [amd64, arm64],
      },
    );
    assert.deepEqual(resolver.calls.sort(), [
      "docker.io/library/alpine:3.20 linux/amd64",
      "docker.io/library/alpine:3.20 linux/arm64",
    ]);
  });

  it("without a resolver the base stays unpinned and the config is marked incomplete", async () => {
    const p = await plan(["FROM node:22", "RUN npm ci"]);
    const plat = p.platforms[0]!;
    assert.equal(plat.configComplete, false);
    assert.deepEqual(plat.baseImage, { ref: "docker.io/library/node:22", digest: undefined });
    assert.deepEqual(execs(p)[0]!.env, ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"]);
  });

  it("a digest written in FROM pins the source without a resolver", async () => {
    const digest = `sha256:${"c".repeat(64)}`;
    const p = await plan([`FROM alpine@${digest}`]);
    const op = chain(p)[0]!.vertex.op;
    assert.ok(op.kind === "source" && op.source.type === "image" && op.source.digest === digest);
  });

  it("an image without layers is scratch", async () => {
    const resolver = new FakeResolver().add("docker.io/library/empty:1", {
      rootfs: { type: "layers", diff_ids: [] },
      history: [{ created_by: "LABEL a=b", empty_layer: true }],
    });
    const p = await plan(["FROM empty:1"], { resolver });
    assert.deepEqual(chain(p)[0]!.vertex.op, { kind: "source", source: { type: "scratch" } });
  });

  it("resolver failures are positioned at the FROM", async () => {
    const resolver = new FakeResolver();
    await assert.rejects(plan(["# base", "FROM nosuch:1"], { resolver }), (e) => {
      assert.ok(e instanceof UserError);
      assert.match(e.message, /docker\.io\/library\/nosuch:1 \(linux\/amd64\): .*not found/);
      assert.equal(e.hint, "check the name");
      assert.deepEqual([e.location?.line, e.location?.column], [2, 6]);
      return true;
    });
  });
});

describe("ONBUILD triggers", () => {
  it("of a resolved base image run first, with history and progress names", async () => {
    const resolver = new FakeResolver().add("docker.io/acme/onbuild:1", {
      config: { OnBuild: ["COPY . /app/src", "RUN make -C /app"], WorkingDir: "/app" },
    });
    const p = await plan(["FROM acme/onbuild:1", "RUN echo own"], { resolver });
    assert.deepEqual(history(p, 0, 1), [
      "COPY . /app/src # buildkit",
      "RUN /bin/sh -c make -C /app # buildkit",
      "RUN /bin/sh -c echo own # buildkit",
    ]);
    const names = chain(p).map((c) => c.vertex.meta?.name ?? "");
    assert.ok(names.includes("[2/4] ONBUILD COPY . /app/src"), names.join("\n"));
    assert.ok(names.includes("[3/4] ONBUILD RUN make -C /app"));
    assert.ok(names.includes("[4/4] RUN echo own"));
    // The triggers are consumed: the new image does not carry them.
    assert.equal(p.platforms[0]!.image.config?.OnBuild, undefined);
  });

  it("of a base image can reach stages through --from", async () => {
    const resolver = new FakeResolver()
      .add("docker.io/library/alpine:3.20", {})
      .add("docker.io/acme/assemble:1", { config: { OnBuild: ["COPY --from=assets /dist /www"] } });
    const p = await plan(["FROM alpine:3.20 AS assets", "RUN build-assets", "FROM acme/assemble:1"], {
      resolver,
    });
    assert.deepEqual(p.platforms[0]!.stagesUsed, [0, 1]);
    assert.equal(execs(p)[0]!.args.at(-1), "build-assets");
  });

  it("of an earlier stage run in stages built FROM it, and only there", async () => {
    const p = await plan([
      "FROM scratch AS base",
      "ONBUILD ENV TRIGGERED=yes",
      "FROM base AS child",
      "RUN child",
      "FROM child",
      "RUN grandchild",
    ]);
    const [child, grandchild] = execs(p);
    assert.equal(envOf(child!, "TRIGGERED"), "yes");
    assert.equal(envOf(grandchild!, "TRIGGERED"), "yes");
    assert.equal(history(p).filter((h) => h === "ENV TRIGGERED=yes").length, 1);
    assert.equal(p.platforms[0]!.image.config?.OnBuild, undefined);
  });

  it("an invalid trigger in a base image is an error at the FROM", async () => {
    const resolver = new FakeResolver().add("docker.io/acme/broken:1", {
      config: { OnBuild: ["RUNN make"] },
    });
    await assert.rejects(plan(["FROM acme/broken:1"], { resolver }), (e) => {
      assert.ok(e instanceof UserError);
      assert.match(e.message, /ONBUILD trigger "RUNN make" of docker\.io\/acme\/broken:1 is invalid/);
      assert.equal(e.location?.line, 1);
      return true;
    });
    const bad = new FakeResolver().add("docker.io/acme/bad:1", {
      config: { OnBuild: ["COPY --chmod=999 a /"] },
    });
    await assert.rejects(plan(["ARG X", "FROM acme/bad:1"], { resolver: bad }), (e) => {
      assert.ok(e instanceof UserError);
      assert.match(
        e.message,
        /^ONBUILD trigger "COPY --chmod=999 a \/" of docker\.io\/acme\/bad:1: invalid chmod/,
      );
      assert.equal(e.location?.line, 2);
      return true;
    });
  });
});
