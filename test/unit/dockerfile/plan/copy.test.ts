// biome-ignore-all lint/suspicious/noTemplateCurlyInString: these strings are Dockerfile text, not templates
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { UserError } from "../../../../src/errors/user-error.ts";
import type { CopyAction } from "../../../../src/graph/types.ts";
import { chain, fileOps, history, plan } from "./helpers.ts";

function copies(p: Awaited<ReturnType<typeof plan>>): CopyAction[] {
  return fileOps(p).flatMap((f) => f.actions.filter((a): a is CopyAction => a.action === "copy"));
}

describe("COPY and ADD", () => {
  it("copies from the context relative to WORKDIR, with BuildKit's copy options", async () => {
    const p = await plan(["FROM scratch", "WORKDIR /app", "COPY package.json src/ ./", "COPY a.txt b"], {
      contextExcludePatterns: ["node_modules"],
    });
    const [first, second, third] = copies(p);
    assert.deepEqual(first, {
      action: "copy",
      input: 1,
      src: "/package.json",
      dest: "/app/",
      followSymlinks: true,
      copyDirContents: true,
      createDestPath: true,
      allowWildcard: true,
      allowEmptyWildcard: true,
      attemptUnpack: false,
    });
    assert.equal(second!.src, "/src");
    assert.equal(third!.dest, "/app/b");
    // Each COPY reads only what it names from the context, so its cache key covers only those files.
    const contexts = chain(p).flatMap((c) =>
      c.vertex.op.kind === "source" && c.vertex.op.source.type === "local" ? [c.vertex.op.source] : [],
    );
    assert.deepEqual(contexts, [
      {
        type: "local",
        name: "context",
        excludePatterns: ["node_modules"],
        followPaths: ["package.json", "src"],
      },
      { type: "local", name: "context", excludePatterns: ["node_modules"], followPaths: ["a.txt"] },
    ]);
    assert.deepEqual(history(p), [
      "WORKDIR /app",
      "COPY package.json src/ ./ # buildkit",
      "COPY a.txt b # buildkit",
    ]);
  });

  it("expands variables in sources, destination and --chown/--chmod, and records them in history", async () => {
    const p = await plan([
      "FROM scratch",
      "ARG APP=web",
      "ENV OWNER=app",
      "COPY --chown=$OWNER:staff --chmod=0750 ${APP}/bin /opt/$APP/",
    ]);
    const [c] = copies(p);
    assert.equal(c!.src, "/web/bin");
    assert.equal(c!.dest, "/opt/web/");
    assert.deepEqual(c!.owner, { user: "app", group: "staff" });
    assert.equal(c!.mode, 0o750);
    assert.equal(history(p).at(-1), "COPY --chown=app:staff --chmod=0750 web/bin /opt/web/ # buildkit");
  });

  it("accepts a symbolic --chmod and rejects a bad one", async () => {
    const p = await plan(["FROM scratch", "COPY --chmod=u+x,go-w run.sh /"]);
    assert.equal(copies(p)[0]!.mode, "u+x,go-w");
    await assert.rejects(plan(["FROM scratch", "COPY --chmod=0999 a /"]), /invalid chmod parameter: '0999'/);
    await assert.rejects(plan(["FROM scratch", "COPY --chmod=rwx a /"]), /invalid chmod parameter/);
  });

  it("--exclude and --parents", async () => {
    const p = await plan([
      "FROM scratch",
      "COPY --exclude=*.md --exclude=tests/ . /src/",
      "COPY --parents ./apps/*/package.json /work/",
      "COPY --parents ./src/./lib/a.go /dst/",
    ]);
    const [all, pattern, pivot] = copies(p);
    assert.deepEqual(all!.excludePatterns, ["*.md", "tests/"]);
    assert.equal(all!.src, "/");
    assert.deepEqual(
      [pattern!.src, pattern!.includePatterns, pattern!.requiredPaths],
      ["/", ["apps/*/package.json"], undefined],
    );
    assert.deepEqual(
      [pivot!.src, pivot!.includePatterns, pivot!.requiredPaths],
      ["/src", ["lib/a.go"], ["/src/lib/a.go"]],
    );
    assert.equal(history(p)[1], "COPY --parents ./apps/*/package.json /work/ # buildkit");
    await assert.rejects(plan(["FROM scratch", "ADD --parents a /b/"]), /parents/);
  });

  it("a source outside the context is an error", async () => {
    await assert.rejects(plan(["FROM scratch", "COPY ../secrets /s"]), (e) => {
      assert.ok(e instanceof UserError);
      assert.match(e.message, /source \.\.\/secrets is outside the build context/);
      assert.deepEqual([e.location?.line, e.location?.column], [2, 6]);
      return true;
    });
    // Paths inside another stage are absolute in that stage: no such rule.
    const p = await plan(["FROM alpine AS a", "FROM scratch", "COPY --from=a /usr/../etc/passwd /"]);
    assert.equal(copies(p)[0]!.src, "/etc/passwd");
  });

  it("--link copies onto scratch and merges the result onto the stage", async () => {
    const p = await plan(["FROM alpine", "COPY --link app /usr/bin/app"]);
    const last = chain(p).at(-1)!.vertex;
    assert.equal(last.op.kind, "merge");
    const [base, layer] = last.inputs;
    assert.equal(p.graph.vertices[base!]!.op.kind, "source");
    const layerVertex = p.graph.vertices[layer!]!;
    assert.equal(layerVertex.op.kind, "file");
    assert.deepEqual(p.graph.vertices[layerVertex.inputs[0]!]!.op, {
      kind: "source",
      source: { type: "scratch" },
    });
    assert.match(last.meta?.name ?? "", /^\[2\/2\] LINK COPY --link app \/usr\/bin\/app$/);
    assert.deepEqual(p.platforms[0]!.layerVertices, [chain(p).at(-1)!.digest]);
  });

  it("--link layers are independent of the stage below them", async () => {
    const a = await plan(["FROM alpine:3.19", "COPY --link app /app"]);
    const b = await plan(["FROM alpine:3.20", "COPY --link app /app"]);
    const layerOf = (p: typeof a) => p.graph.vertices[p.platforms[0]!.output]!.inputs[1];
    assert.equal(layerOf(a), layerOf(b));
  });

  it("heredoc sources become files, expanded unless the delimiter is quoted", async () => {
    const p = await plan([
      "FROM scratch",
      "ENV NAME=world",
      'COPY <<EOF <<"RAW" /etc/',
      'hello "$NAME"',
      "EOF",
      "keep $NAME",
      "RAW",
    ]);
    const files = chain(p).flatMap((c) =>
      c.vertex.op.kind === "file" ? c.vertex.op.actions.filter((a) => a.action === "mkfile") : [],
    );
    assert.deepEqual(files, [
      { action: "mkfile", path: "/EOF", mode: 0o644, data: 'hello "world"\n' },
      { action: "mkfile", path: "/RAW", mode: 0o644, data: "keep $NAME\n" },
    ]);
    assert.deepEqual(
      copies(p).map((c) => [c.src, c.dest]),
      [
        ["/EOF", "/etc/"],
        ["/RAW", "/etc/"],
      ],
    );
    assert.equal(history(p).at(-1), "COPY <<EOF <<RAW /etc/ # buildkit");
  });

  it("ADD unpacks local archives, downloads URLs with a checksum, and clones git", async () => {
    const sum = `sha256:${"a".repeat(64)}`;
    const p = await plan([
      "FROM scratch",
      "ADD rootfs.tar.gz /",
      `ADD --checksum=${sum} https://example.com/dl/tool.tgz /opt/`,
      "ADD --keep-git-dir=true https://github.com/moby/buildkit.git#v0.13.0:docs /docs",
    ]);
    const [archive, url, git] = copies(p);
    assert.equal(archive!.attemptUnpack, true);
    assert.equal(url!.attemptUnpack, false);
    assert.equal(url!.src, "/tool.tgz");
    const sources = chain(p).flatMap((c) => (c.vertex.op.kind === "source" ? [c.vertex.op.source] : []));
    assert.ok(
      sources.some(
        (s) =>
          s.type === "http" &&
          s.url === "https://example.com/dl/tool.tgz" &&
          s.checksum === sum &&
          s.filename === "tool.tgz",
      ),
    );
    assert.ok(
      sources.some(
        (s) =>
          s.type === "git" &&
          s.remote === "https://github.com/moby/buildkit.git" &&
          s.ref === "v0.13.0" &&
          s.subdir === "docs" &&
          s.keepGitDir,
      ),
    );
    assert.equal(git!.src, "/");
    const noUnpack = await plan(["FROM scratch", "ADD --unpack=false a.tar /"]);
    assert.equal(copies(noUnpack)[0]!.attemptUnpack, false);
  });

  it("rejects URLs in COPY and misused checksums", async () => {
    await assert.rejects(
      plan(["FROM scratch", "COPY https://example.com/x /"]),
      /source can't be a URL for COPY/,
    );
    await assert.rejects(plan(["FROM scratch", "ADD --checksum=sha256:abc a /"]), /checksum requires HTTP/);
    await assert.rejects(
      plan(["FROM scratch", "ADD --checksum=md5:abc https://example.com/x /"]),
      /invalid checksum md5:abc/,
    );
  });
});
