// biome-ignore-all lint/suspicious/noTemplateCurlyInString: these strings are Dockerfile text, not templates
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { UserError } from "../../../../src/errors/user-error.ts";
import { chain, execs, history, plan } from "./helpers.ts";

const PATH = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

describe("image config and history", () => {
  it("a scratch image gets PATH and WORKDIR / like BuildKit's empty image", async () => {
    const p = await plan(["FROM scratch"]);
    assert.deepEqual(p.platforms[0]!.image.config, { Env: [PATH], WorkingDir: "/" });
    assert.deepEqual(p.platforms[0]!.image.history, []);
    assert.equal(p.platforms[0]!.configComplete, true);
  });

  it("ENV and LABEL in every form", async () => {
    const p = await plan([
      "FROM scratch",
      "ENV A=1 B=\"two words\" C='$A'",
      "ENV LEGACY value with spaces",
      "ENV D=${A}x",
      'LABEL org.opencontainers.image.title="My App" version=1',
      "LABEL legacy label value",
    ]);
    const config = p.platforms[0]!.image.config!;
    assert.deepEqual(config.Env, [PATH, "A=1", "B=two words", "C=$A", "LEGACY=value with spaces", "D=1x"]);
    assert.deepEqual(config.Labels, {
      "org.opencontainers.image.title": "My App",
      version: "1",
      legacy: "label value",
    });
    assert.deepEqual(history(p), [
      "ENV A=1 B=two words C=$A",
      "ENV LEGACY=value with spaces",
      "ENV D=1x",
      "LABEL org.opencontainers.image.title=My App version=1",
      "LABEL legacy=label value",
    ]);
    assert.ok(p.platforms[0]!.image.history!.every((h) => h.empty_layer === true));
    assert.ok(p.platforms[0]!.image.history!.every((h) => h.comment === "buildkit.dockerfile.v0"));
  });

  it("ENV replaces an existing variable in place", async () => {
    const p = await plan(["FROM scratch", "ENV A=1 B=2", "ENV A=3"]);
    assert.deepEqual(p.platforms[0]!.image.config!.Env, [PATH, "A=3", "B=2"]);
  });

  it("WORKDIR is relative to the previous one, created, and recorded", async () => {
    const p = await plan([
      "FROM scratch",
      "WORKDIR /a",
      "WORKDIR b",
      "WORKDIR ../c/./d/",
      "WORKDIR /",
      "RUN pwd",
    ]);
    assert.equal(p.platforms[0]!.image.config!.WorkingDir, "/");
    assert.deepEqual(history(p).slice(0, 4), ["WORKDIR /a", "WORKDIR /a/b", "WORKDIR /a/c/d", "WORKDIR /"]);
    const entries = p.platforms[0]!.image.history!;
    assert.deepEqual(
      entries.map((h) => h.empty_layer ?? false),
      [false, false, false, true, false],
    );
    const mkdirs = chain(p).flatMap((c) => (c.vertex.op.kind === "file" ? c.vertex.op.actions : []));
    assert.deepEqual(
      mkdirs.map((a) => a.action === "mkdir" && a.path),
      ["/a", "/a/b", "/a/c/d"],
    );
    assert.equal(execs(p)[0]!.cwd, "/");
  });

  it("WORKDIR after USER creates the directory owned by that user", async () => {
    const p = await plan(["FROM scratch", "USER app:staff", "WORKDIR /home/app"]);
    const mkdir = chain(p).at(-1)!.vertex.op;
    assert.deepEqual(mkdir, {
      kind: "file",
      actions: [
        {
          action: "mkdir",
          path: "/home/app",
          mode: 0o755,
          makeParents: true,
          owner: { user: "app", group: "staff" },
        },
      ],
    });
  });

  it("USER sets the config and the user of later RUN steps", async () => {
    const p = await plan(["FROM scratch", "ARG U=nobody", "USER $U", "RUN id"]);
    assert.equal(p.platforms[0]!.image.config!.User, "nobody");
    assert.equal(execs(p)[0]!.user, "nobody");
    assert.ok(history(p).includes("USER nobody"));
  });

  it("EXPOSE defaults to tcp, expands variables and ranges", async () => {
    const p = await plan(["FROM scratch", "ENV P=8080", "EXPOSE 80 $P/udp 9000-9001 53/UDP"]);
    assert.deepEqual(p.platforms[0]!.image.config!.ExposedPorts, {
      "80/tcp": {},
      "8080/udp": {},
      "9000/tcp": {},
      "9001/tcp": {},
      "53/udp": {},
    });
    assert.equal(history(p).at(-1), "EXPOSE [80/tcp 8080/udp 9000/tcp 9001/tcp 53/udp]");
    await assert.rejects(plan(["FROM scratch", "EXPOSE 80/xyz"]), /invalid proto: xyz/);
    await assert.rejects(plan(["FROM scratch", "EXPOSE abc"]), /invalid containerPort/);
  });

  it("VOLUME in both forms, STOPSIGNAL, SHELL and MAINTAINER", async () => {
    const p = await plan([
      "FROM scratch",
      'VOLUME ["/data", "/logs"]',
      "VOLUME /cache",
      "STOPSIGNAL SIGQUIT",
      'SHELL ["/bin/bash", "-o", "pipefail", "-c"]',
      "MAINTAINER someone@example.com",
      "RUN echo hi",
    ]);
    const img = p.platforms[0]!.image;
    assert.deepEqual(img.config!.Volumes, { "/data": {}, "/logs": {}, "/cache": {} });
    assert.equal(img.config!.StopSignal, "SIGQUIT");
    assert.deepEqual(img.config!.Shell, ["/bin/bash", "-o", "pipefail", "-c"]);
    assert.equal(img.author, "someone@example.com");
    assert.deepEqual(execs(p)[0]!.args, ["/bin/bash", "-o", "pipefail", "-c", "echo hi"]);
    assert.deepEqual(history(p), [
      "VOLUME [/data /logs]",
      "VOLUME [/cache]",
      "STOPSIGNAL SIGQUIT",
      "SHELL [/bin/bash -o pipefail -c]",
      "MAINTAINER someone@example.com",
      "RUN /bin/bash -o pipefail -c echo hi # buildkit",
    ]);
    await assert.rejects(plan(["FROM scratch", "STOPSIGNAL SIGNOPE"]), /invalid signal: SIGNOPE/);
  });

  it("CMD and ENTRYPOINT in both forms; the shell form goes through SHELL", async () => {
    const p = await plan(["FROM scratch", "ENTRYPOINT node server.js", 'CMD ["--port", "80"]']);
    const config = p.platforms[0]!.image.config!;
    assert.deepEqual(config.Entrypoint, ["/bin/sh", "-c", "node server.js"]);
    assert.deepEqual(config.Cmd, ["--port", "80"]);
    assert.equal(config.ArgsEscaped, true);
    assert.deepEqual(history(p), ['ENTRYPOINT ["/bin/sh" "-c" "node server.js"]', 'CMD ["--port" "80"]']);
  });

  it("ENTRYPOINT resets an inherited CMD but keeps one set in the same stage", async () => {
    const inherited = await plan(["FROM scratch AS base", 'CMD ["a"]', "FROM base", 'ENTRYPOINT ["b"]']);
    assert.equal(inherited.platforms[0]!.image.config!.Cmd, undefined);
    const same = await plan(["FROM scratch", 'CMD ["a"]', 'ENTRYPOINT ["b"]']);
    assert.deepEqual(same.platforms[0]!.image.config!.Cmd, ["a"]);
  });

  it("CMD and ENTRYPOINT are not expanded", async () => {
    const p = await plan(["FROM scratch", "ENV X=1", "CMD echo $X"]);
    assert.deepEqual(p.platforms[0]!.image.config!.Cmd, ["/bin/sh", "-c", "echo $X"]);
  });

  it("HEALTHCHECK with options, in both forms, and NONE", async () => {
    const p = await plan([
      "FROM scratch",
      "HEALTHCHECK --interval=5m --timeout=3s --start-period=1m30s --start-interval=500ms --retries=3 \\",
      "  CMD curl -f http://localhost/ || exit 1",
    ]);
    assert.deepEqual(p.platforms[0]!.image.config!.Healthcheck, {
      Test: ["CMD-SHELL", "curl -f http://localhost/ || exit 1"],
      Interval: 300_000_000_000,
      Timeout: 3_000_000_000,
      StartPeriod: 90_000_000_000,
      StartInterval: 500_000_000,
      Retries: 3,
    });
    assert.equal(
      history(p)[0],
      "HEALTHCHECK {Test:[CMD-SHELL curl -f http://localhost/ || exit 1] Interval:5m0s Timeout:3s " +
        "StartPeriod:1m30s StartInterval:500ms Retries:3}",
    );
    const exec = await plan(["FROM scratch", 'HEALTHCHECK CMD ["/bin/check", "-q"]']);
    assert.deepEqual(exec.platforms[0]!.image.config!.Healthcheck, { Test: ["CMD", "/bin/check", "-q"] });
    const none = await plan(["FROM scratch AS a", "HEALTHCHECK CMD true", "FROM a", "HEALTHCHECK NONE"]);
    assert.deepEqual(none.platforms[0]!.image.config!.Healthcheck, { Test: ["NONE"] });
    assert.equal(
      history(none).at(-1),
      "HEALTHCHECK {Test:[NONE] Interval:0s Timeout:0s StartPeriod:0s StartInterval:0s Retries:0}",
    );
  });

  it("HEALTHCHECK rejects bad options with positions", async () => {
    await assert.rejects(plan(["FROM scratch", "HEALTHCHECK --interval=soon CMD true"]), (e) => {
      assert.ok(e instanceof UserError);
      assert.match(e.message, /invalid duration.*"soon"/);
      assert.equal(e.location?.line, 2);
      return true;
    });
    await assert.rejects(plan(["FROM scratch", "HEALTHCHECK --timeout=10us CMD true"]), /less than 1ms/);
    await assert.rejects(plan(["FROM scratch", "HEALTHCHECK --retries=-1 CMD true"]), /cannot be negative/);
    await assert.rejects(plan(["FROM scratch", "HEALTHCHECK --retries=2 NONE"]), /NONE takes no options/);
  });

  it("ONBUILD is stored for later images without a history entry", async () => {
    const p = await plan(["FROM scratch", "ONBUILD RUN echo later", "ONBUILD COPY . /app"]);
    assert.deepEqual(p.platforms[0]!.image.config!.OnBuild, ["RUN echo later", "COPY . /app"]);
    assert.deepEqual(history(p), []);
  });

  it("--label values are added to the final image", async () => {
    const p = await plan(["FROM scratch", "LABEL a=1 b=2"], { labels: { b: "cli", c: "3" } });
    assert.deepEqual(p.platforms[0]!.image.config!.Labels, { a: "1", b: "cli", c: "3" });
  });
});

describe("layers", () => {
  it("one layer vertex per non-empty history entry, each on top of the previous", async () => {
    const p = await plan([
      "FROM alpine AS base",
      "WORKDIR /app",
      "COPY a /a",
      "ENV X=1",
      "RUN make",
      "FROM base",
      "COPY --link b /b",
      "WORKDIR /",
      "RUN <<EOF",
      "#!/bin/sh",
      "echo hi",
      "EOF",
      "USER nobody",
    ]);
    const plat = p.platforms[0]!;
    const layered = plat.image.history!.filter((h) => !h.empty_layer);
    assert.equal(layered.length, plat.layerVertices.length);
    assert.equal(plat.layerVertices.at(-1), plat.output);
    let parent = plat.baseVertex;
    for (const v of plat.layerVertices) {
      assert.equal(p.graph.vertices[v]!.inputs[0], parent);
      parent = v;
    }
  });
});
