import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { parseMount, parseRamBytes, splitCsvRecord } from "../../../../src/dockerfile/plan/run-mounts.ts";
import { UserError } from "../../../../src/errors/user-error.ts";
import { chain, execs, history, plan } from "./helpers.ts";

const id = (w: string) => w;

describe("RUN", () => {
  it("shell form runs through /bin/sh -c with the stage's env, cwd and user; exec form as written", async () => {
    const p = await plan([
      "FROM scratch",
      "WORKDIR /src",
      "USER 1000:1000",
      "RUN make all",
      'RUN ["make", "$X"]',
    ]);
    const [shell, exec] = execs(p);
    assert.deepEqual(shell!.args, ["/bin/sh", "-c", "make all"]);
    assert.equal(shell!.cwd, "/src");
    assert.equal(shell!.user, "1000:1000");
    assert.equal(shell!.network, "default");
    assert.equal(shell!.security, "sandbox");
    assert.deepEqual(exec!.args, ["make", "$X"]);
    assert.deepEqual(history(p).slice(-2), ["RUN /bin/sh -c make all # buildkit", "RUN make $X # buildkit"]);
  });

  it("history lists the declared build args BuildKit's way", async () => {
    const p = await plan(["FROM scratch", "ARG A=1", "ARG B", "ARG A=2", "ENV B=env", "RUN x"], {
      buildArgs: { B: "cli" },
    });
    assert.equal(history(p).at(-1), "RUN |2 A=2 B=env /bin/sh -c x # buildkit");
  });

  it("a step that uses no target-dependent arg has the same vertex on every platform", async () => {
    const p = await plan(["FROM --platform=linux/amd64 scratch", "ARG V=1", "RUN x"], {
      platforms: [
        { os: "linux", architecture: "amd64" },
        { os: "linux", architecture: "arm64" },
      ],
    });
    assert.equal(p.platforms[0]!.output, p.platforms[1]!.output);
  });

  it("--network and --security", async () => {
    const p = await plan([
      "FROM scratch",
      "RUN --network=none --security=insecure x",
      "RUN --network=host y",
    ]);
    const [a, b] = execs(p);
    assert.equal(a!.network, "none");
    assert.equal(a!.security, "insecure");
    assert.equal(b!.network, "host");
    await assert.rejects(plan(["FROM scratch", "RUN --network=bridge x"]), /invalid network mode "bridge"/);
    await assert.rejects(plan(["FROM scratch", "RUN --security=root x"]), /unsupported security mode "root"/);
  });

  it("a heredoc is run by the shell; one with a shebang is mounted and executed", async () => {
    const p = await plan([
      "FROM scratch",
      "RUN <<EOF",
      "apt-get update",
      "apt-get install -y curl",
      "EOF",
      "RUN <<-'SCRIPT'",
      "\t#!/usr/bin/env python3",
      "\tprint('hi')",
      "\tSCRIPT",
      "RUN cat <<A > /a && cat <<B > /b",
      "one",
      "A",
      "two",
      "B",
    ]);
    const [plain, script, several] = execs(p);
    assert.deepEqual(plain!.args, ["/bin/sh", "-c", "apt-get update\napt-get install -y curl\n"]);
    assert.deepEqual(script!.args, ["/bin/sh", "-c", "/dev/pipes/SCRIPT"]);
    assert.deepEqual(script!.mounts, [
      { type: "bind", target: "/dev/pipes", input: 1, source: "/", readonly: true },
    ]);
    const file = chain(p).find((c) => c.vertex.op.kind === "file")!.vertex.op;
    assert.deepEqual(file, {
      kind: "file",
      actions: [
        { action: "mkfile", path: "/SCRIPT", mode: 0o755, data: "#!/usr/bin/env python3\nprint('hi')\n" },
      ],
    });
    assert.deepEqual(several!.args, ["/bin/sh", "-c", "cat <<A > /a && cat <<B > /b\none\nA\ntwo\nB"]);
    const names = chain(p).map((c) => c.vertex.meta?.name);
    assert.ok(names.includes("[1/3] RUN <<EOF (apt-get update...)"), names.join("\n"));
  });

  it("cache, bind, tmpfs, secret and ssh mounts with their options", async () => {
    const p = await plan([
      "FROM alpine AS deps",
      "FROM scratch",
      "WORKDIR /w",
      "ENV CACHE=/root/.cache",
      "RUN --mount=type=cache,target=$CACHE,id=gocache,sharing=locked,mode=0700,uid=1000,gid=1000 \\",
      "    --mount=type=bind,from=deps,source=/usr/lib,target=lib \\",
      "    --mount=type=bind,source=go.mod,target=/go.mod,rw \\",
      "    --mount=type=tmpfs,target=/tmp,size=64m \\",
      "    --mount=type=secret,id=npmrc,target=/root/.npmrc,required \\",
      "    --mount=type=secret,id=token,env=TOKEN \\",
      "    --mount=type=ssh \\",
      "    --mount=type=ssh,id=github,required=true \\",
      "    build",
    ]);
    const run = execs(p)[0]!;
    const inputs = chain(p).find((c) => c.vertex.op === run)!.vertex.inputs;
    assert.equal(inputs.length, 3);
    assert.deepEqual(run.mounts, [
      {
        type: "cache",
        target: "/root/.cache",
        id: "gocache",
        sharing: "locked",
        readonly: false,
        source: "/",
        mode: 0o700,
        uid: 1000,
        gid: 1000,
      },
      { type: "bind", target: "/w/lib", input: 1, source: "/usr/lib", readonly: true },
      { type: "bind", target: "/go.mod", input: 2, source: "/go.mod", readonly: false },
      { type: "tmpfs", target: "/tmp", size: 64 * 1024 * 1024 },
      { type: "secret", id: "npmrc", target: "/root/.npmrc", required: true, mode: 0o400, uid: 0, gid: 0 },
      { type: "secret", id: "token", env: "TOKEN", required: false, mode: 0o400, uid: 0, gid: 0 },
      {
        type: "ssh",
        id: "default",
        target: "/run/buildkit/ssh_agent.0",
        required: false,
        mode: 0o600,
        uid: 0,
        gid: 0,
      },
      {
        type: "ssh",
        id: "github",
        target: "/run/buildkit/ssh_agent.1",
        required: true,
        mode: 0o600,
        uid: 0,
        gid: 0,
      },
    ]);
    const context = p.graph.vertices[inputs[2]!]!.op;
    assert.deepEqual(context, {
      kind: "source",
      source: { type: "local", name: "context", followPaths: ["go.mod"] },
    });
    // Secrets never reach the environment or the history.
    assert.ok(!run.env.some((e) => e.startsWith("TOKEN=")));
    assert.doesNotMatch(history(p).at(-1)!, /npmrc|token/i);
  });

  it("secret mounts default their target, cache mounts their id", async () => {
    const p = await plan(["FROM scratch", "RUN --mount=type=secret,id=aws --mount=type=cache,target=/c x"]);
    const [secret, cache] = execs(p)[0]!.mounts;
    assert.equal(secret?.type === "secret" && secret.target, "/run/secrets/aws");
    assert.equal(cache?.type === "cache" && cache.id, "/c");
  });

  it("bad mounts are positioned errors", async () => {
    const cases: [string, RegExp][] = [
      ["RUN --mount=type=volume,target=/x true", /unsupported mount type "volume"/],
      ["RUN --mount=type=cache,target=/x,sharing=maybe true", /unsupported sharing value/],
      ["RUN --mount=type=bind,target=/x,mode=0755 true", /mode not allowed for "bind"/],
      ["RUN --mount=type=cache,target=/x,size=1g true", /unexpected key 'size'/],
      ["RUN --mount=type=cache,target=/x,bogus=1 true", /unexpected key 'bogus'/],
      // No target means the working directory, which is / here.
      ["RUN --mount=type=tmpfs true", /invalid mount target "\/"/],
      ["RUN --mount=type=bind,target=/ true", /invalid mount target/],
      ["RUN --mount=type=secret,id=a,sharing=shared true", /should not define sharing/],
      ["RUN --mount=type=cache,target=/x,from=$S true", /doesn't support variable expansion/],
      ["RUN --mount=type=bind,target=/x,readonly=maybe true", /invalid value for readonly/],
    ];
    for (const [line, re] of cases) {
      await assert.rejects(plan(["FROM scratch", line]), (e) => {
        assert.ok(e instanceof UserError, line);
        assert.match(e.message, re, line);
        assert.equal(e.location?.line, 2, line);
        return true;
      });
    }
  });
});

describe("mount value parsing", () => {
  it("reads CSV like Go's encoding/csv", () => {
    assert.deepEqual(splitCsvRecord('type=bind,"source=a,b",target=/x'), [
      "type=bind",
      "source=a,b",
      "target=/x",
    ]);
    assert.deepEqual(splitCsvRecord('"a""b",c'), ['a"b', "c"]);
    assert.throws(() => splitCsvRecord('a"b'), /bare "/);
  });

  it("applies the type's defaults wherever type is written", () => {
    const m = parseMount("target=/x,type=cache", id);
    assert.equal(m.type, "cache");
    assert.equal(m.readonly, false);
    assert.equal(parseMount("target=/x", id).readonly, true);
    assert.equal(parseMount("type=tmpfs,target=/x", id).readonly, false);
    assert.equal(parseMount("type=bind,target=/x,ro=false", id).readonly, false);
  });

  it("parses sizes as docker does", () => {
    assert.equal(parseRamBytes("100"), 100);
    assert.equal(parseRamBytes("1k"), 1024);
    assert.equal(parseRamBytes("1.5g"), 1.5 * 1024 ** 3);
    assert.equal(parseRamBytes("512MiB"), 512 * 1024 ** 2);
    assert.throws(() => parseRamBytes("lots"));
  });
});

describe("proxy build args", () => {
  it("are handed to the solver, not baked into vertices or history", async () => {
    const args = { HTTP_PROXY: "http://proxy:3128", no_proxy: "localhost", OTHER: "x" };
    const p = await plan(["FROM scratch", "RUN apt-get update"], { buildArgs: args });
    assert.deepEqual(p.proxyEnv, { HTTP_PROXY: "http://proxy:3128", no_proxy: "localhost" });
    const plain = await plan(["FROM scratch", "RUN apt-get update"]);
    assert.equal(p.platforms[0]!.output, plain.platforms[0]!.output);
    assert.equal(history(p).at(-1), "RUN /bin/sh -c apt-get update # buildkit");
  });
});
