import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { UserError } from "../../../../src/errors/user-error.ts";
import { chain, execs, FakeResolver, fileOps, history, plan } from "./helpers.ts";

const multi = [
  "FROM alpine AS base", // 0
  "RUN echo base",
  "FROM base AS unused", // 1
  "RUN echo unused",
  "FROM golang AS Builder", // 2
  "RUN go build",
  "FROM base AS final", // 3
  "COPY --from=builder /out /out",
];

describe("stages", () => {
  it("builds the last stage by default and only the stages it needs", async () => {
    const p = await plan(multi);
    assert.equal(p.target, 3);
    assert.deepEqual(p.platforms[0]!.stagesUsed, [0, 2, 3]);
    const cmds = execs(p).map((e) => e.args.at(-1));
    assert.deepEqual(cmds.sort(), ["echo base", "go build"]);
  });

  it("--target picks a stage case-insensitively and prunes the rest", async () => {
    const p = await plan(multi, { target: "UNUSED" });
    assert.equal(p.target, 1);
    assert.deepEqual(p.platforms[0]!.stagesUsed, [0, 1]);
    assert.deepEqual(
      execs(p).map((e) => e.args.at(-1)),
      ["echo base", "echo unused"],
    );
  });

  it("an unknown --target is an error that lists the stages", async () => {
    await assert.rejects(plan(multi, { target: "finl" }), (e) => {
      assert.ok(e instanceof UserError);
      assert.equal(e.message, 'target stage "finl" could not be found');
      assert.match(e.hint ?? "", /did you mean final\?/);
      assert.match(e.hint ?? "", /stages: base, unused, builder, final/);
      return true;
    });
  });

  it("stage names are matched case-insensitively in FROM and --from", async () => {
    const p = await plan(["FROM alpine AS Base", "RUN x", "FROM BASE", "COPY --from=BaSe /a /b"]);
    assert.deepEqual(p.platforms[0]!.stagesUsed, [0, 1]);
    assert.deepEqual(p.platforms[0]!.stageBases[1], { kind: "stage", stage: 0 });
  });

  it("--from accepts a stage index", async () => {
    const p = await plan(["FROM alpine", "RUN x", "FROM scratch", "COPY --from=0 /a /b"]);
    assert.deepEqual(p.platforms[0]!.stagesUsed, [0, 1]);
    const copy = fileOps(p).at(-1)!.actions[0]!;
    assert.equal(copy.action === "copy" && copy.src, "/a");
  });

  it("--from with an image reference copies from that image for the target platform", async () => {
    const p = await plan(["FROM scratch", "COPY --from=nginx:1.27 /etc/nginx /nginx"]);
    const sources = chain(p).filter((c) => c.vertex.op.kind === "source");
    assert.ok(
      sources.some(
        (s) =>
          s.vertex.op.kind === "source" &&
          s.vertex.op.source.type === "image" &&
          s.vertex.op.source.ref === "docker.io/library/nginx:1.27",
      ),
    );
  });

  it("a --from that is not a stage is an image; a failed pull of a near stage name suggests the stage", async () => {
    const text = ["FROM alpine AS builder", "FROM scratch", "COPY --from=buidler /a /b"];
    const p = await plan(text);
    assert.equal(p.platforms[0]!.configComplete, false);
    const resolver = new FakeResolver().add("docker.io/library/alpine:latest", {});
    await assert.rejects(plan(text, { resolver }), (e) => {
      assert.ok(e instanceof UserError);
      assert.match(e.message, /docker\.io\/library\/buidler:latest \(linux\/amd64\): .*not found/);
      assert.match(e.hint ?? "", /did you mean builder\?/);
      assert.deepEqual([e.location?.line, e.location?.column], [3, 13]);
      return true;
    });
  });

  it("an invalid stage index is an error", async () => {
    await assert.rejects(plan(["FROM alpine", "COPY --from=5 /a /b"]), /invalid stage index 5/);
  });

  it("copying from a later stage or from itself is an error", async () => {
    await assert.rejects(
      plan(["FROM alpine AS a", "COPY --from=b /x /y", "FROM alpine AS b"], { target: "a" }),
      /cannot copy from stage "b", it needs to be defined before current stage "a"/,
    );
    await assert.rejects(plan(["FROM alpine AS a", "COPY --from=a /x /y"]), /circular dependency/);
    await assert.rejects(
      plan(["FROM alpine AS a", "RUN --mount=from=a,target=/m true"]),
      /circular dependency/,
    );
  });

  it("variables in --from are rejected with the BuildKit workaround", async () => {
    await assert.rejects(plan(["FROM alpine", "ARG S=x", "COPY --from=$S /a /b"]), (e) => {
      assert.ok(e instanceof UserError);
      assert.match(e.message, /variable expansion is not supported for --from/);
      return true;
    });
  });

  it("errors in unused stages do not stop the build, as in BuildKit", async () => {
    const p = await plan([
      "FROM alpine AS broken",
      "COPY --from=nowhere-stage:bad:tag /a /b",
      "FROM scratch",
    ]);
    assert.deepEqual(p.platforms[0]!.stagesUsed, [1]);
  });

  it("a stage name given twice names the later stage (BuildKit only warns); FROM the latest before it", async () => {
    const p = await plan(["FROM alpine AS a", "FROM alpine AS A", "FROM a AS b", "FROM alpine AS a"], {
      target: "b",
    });
    assert.deepEqual(p.platforms[0]!.stagesUsed, [1, 2]);
    const last = await plan(["FROM alpine AS a", "FROM alpine AS A", "FROM busybox"], { target: "a" });
    assert.deepEqual(last.platforms[0]!.stagesUsed, [1]);
  });

  it("instructions before FROM are errors", async () => {
    await assert.rejects(plan(["RUN x", "FROM alpine"]), /RUN is not allowed before the first FROM/);
    await assert.rejects(plan(["ARG X"]), /no FROM instruction/);
  });

  it("blank and invalid base names are positioned errors", async () => {
    await assert.rejects(plan(["FROM $NOTHING"]), (e) => {
      assert.ok(e instanceof UserError);
      assert.match(e.message, /base name \(\$NOTHING\) should not be blank/);
      assert.deepEqual([e.location?.line, e.location?.column], [1, 6]);
      return true;
    });
    await assert.rejects(plan(["FROM Alpine:3"]), /must be lowercase/);
  });

  it("a stage based on an earlier stage inherits its filesystem, config and history", async () => {
    const p = await plan(["FROM scratch AS a", "ENV A=1", "COPY x /x", "FROM a", "WORKDIR /w"]);
    const plat = p.platforms[0]!;
    assert.deepEqual(history(p), ["ENV A=1", "COPY x /x # buildkit", "WORKDIR /w"]);
    assert.equal(plat.layerVertices.length, 2);
    assert.ok(plat.image.config?.Env?.includes("A=1"));
  });

  it("a named context replaces a stage or an image of the same name", async () => {
    const p = await plan(["FROM alpine AS deps", "RUN slow", "FROM alpine", "COPY --from=deps /x /y"], {
      namedContexts: [{ name: "deps", kind: "local" }],
    });
    assert.equal(execs(p).length, 0);
    const local = chain(p).find((c) => c.vertex.op.kind === "source" && c.vertex.op.source.type === "local");
    assert.deepEqual(local?.vertex.op, { kind: "source", source: { type: "local", name: "deps" } });

    const q = await plan(["FROM alpine:3.20"], {
      namedContexts: [{ name: "alpine:3.20", kind: "image", ref: "docker.io/library/alpine:3.19" }],
    });
    assert.equal(q.platforms[0]!.baseImage?.ref, "docker.io/library/alpine:3.19");

    const r = await plan(["FROM scratch", "COPY --from=src app.go /src/"], {
      namedContexts: [{ name: "src", kind: "local", excludePatterns: ["*.md"] }],
    });
    const src = chain(r).find((c) => c.vertex.op.kind === "source" && c.vertex.op.source.type === "local");
    assert.deepEqual(src?.vertex.op, {
      kind: "source",
      source: { type: "local", name: "src", excludePatterns: ["*.md"], followPaths: ["app.go"] },
    });
  });
});
