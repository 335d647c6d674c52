// biome-ignore-all lint/suspicious/noTemplateCurlyInString: these strings are Dockerfile and shell text, not templates
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { one, parse, parseError } from "./helpers.ts";

describe("FROM", () => {
  it("reads the image, the stage name (lower-cased) and the AS keyword", () => {
    const f = parse("FROM --platform=$BUILDPLATFORM golang:1.22 As Builder\n")[0];
    assert.equal(f?.keyword, "FROM");
    if (f?.keyword !== "FROM") return;
    assert.deepEqual(f.image, { value: "golang:1.22", pos: { line: 1, column: 32 } });
    assert.equal(f.stageName, "builder");
    assert.deepEqual(f.stageNameWord, { value: "Builder", pos: { line: 1, column: 47 } });
    assert.deepEqual(f.asKeyword, { value: "As", pos: { line: 1, column: 44 } });
    assert.equal(f.platform?.value, "$BUILDPLATFORM");
  });

  it("keeps ARG references unexpanded", () => {
    const f = parse("ARG V=3\nFROM alpine:${V}\n")[1];
    assert.equal(f?.keyword === "FROM" && f.image.value, "alpine:${V}");
  });

  it("accepts names with digits, dots, dashes and underscores", () => {
    const f = parse("FROM a AS build-1.x_y\n")[0];
    assert.equal(f?.keyword === "FROM" && f.stageName, "build-1.x_y");
  });

  it("rejects other argument counts and bad stage names", () => {
    parseError("FROM\n", /FROM requires either one or three arguments/, 1, 1);
    parseError("FROM a b\n", /FROM requires either one or three arguments/, 1, 8);
    parseError("FROM a AS\n", /one or three arguments/);
    parseError("FROM a FOR b\n", /one or three arguments/);
    parseError("FROM a AS b c\n", /one or three arguments/);
    parseError("FROM a AS 1st\n", /invalid name for build stage: "1st"/, 1, 11);
    parseError("FROM a AS b$c\n", /invalid name for build stage/);
  });
});

describe("RUN, CMD, ENTRYPOINT, SHELL", () => {
  it("tells the exec form from the shell form", () => {
    assert.deepEqual(one('RUN ["echo", "a b"]', "RUN").command, {
      form: "exec",
      args: ["echo", "a b"],
      pos: { line: 2, column: 5 },
    });
    assert.deepEqual(one("RUN echo $HOME && ls", "RUN").command, {
      form: "shell",
      text: "echo $HOME && ls",
      pos: { line: 2, column: 5 },
    });
  });

  it("decodes JSON escapes in the exec form", () => {
    const c = one('CMD ["a\\"b", "\\u00e9", "c\\\\d"]', "CMD").command;
    assert.deepEqual(c.form === "exec" && c.args, ['a"b', "é", "c\\d"]);
  });

  it("falls back to the shell form when the JSON is invalid", () => {
    for (const text of ['[ "/data"', "['a', 'b']", '["a" "b"]', "[a]", '["a",]']) {
      assert.deepEqual(one(`CMD ${text}`, "CMD").command.form, "shell", text);
    }
  });

  it("takes a JSON array followed by more text, or JSON that is not an array, as the shell form (as Go's decoder)", () => {
    assert.deepEqual(one('ENTRYPOINT ["a"] trailing', "ENTRYPOINT").command.form, "shell");
    assert.deepEqual(one("ENTRYPOINT []random", "ENTRYPOINT").command.form, "shell");
    assert.deepEqual(one('CMD ["a",{"b":1}', "CMD").command.form, "shell");
    assert.deepEqual(one('CMD ["a"]  ', "CMD").command.form, "exec");
  });

  it("accepts an empty exec form and an empty shell form", () => {
    assert.deepEqual(one("CMD []", "CMD").command.form, "exec");
    assert.deepEqual(one("ENTRYPOINT", "ENTRYPOINT").command, {
      form: "shell",
      text: "",
      pos: { line: 2, column: 11 },
    });
  });

  it("rejects JSON arrays holding anything but strings", () => {
    parseError('FROM a\nCMD ["a", 1]\n', /arrays must be comprised of strings only/, 2, 5);
    parseError('FROM a\nRUN ["a", ["b"]]\n', /strings only/);
    parseError("FROM a\nENTRYPOINT [null]\n", /strings only/);
  });

  it("keeps RUN's --mount flags in order and --network/--security", () => {
    const r = one(
      "RUN --mount=type=cache,target=/a --mount=type=secret,id=s --network=none --security=insecure make",
      "RUN",
    );
    assert.deepEqual(
      r.mounts.map((m) => m.value),
      ["type=cache,target=/a", "type=secret,id=s"],
    );
    assert.equal(r.network?.value, "none");
    assert.equal(r.security?.value, "insecure");
    assert.equal(r.command.form === "shell" && r.command.text, "make");
  });

  it("requires SHELL in JSON form with at least one element", () => {
    const s = one('SHELL ["powershell", "-command"]', "SHELL");
    assert.deepEqual(s.command.args, ["powershell", "-command"]);
    parseError("FROM a\nSHELL /bin/sh -c\n", /SHELL requires the arguments to be in JSON form/, 2, 7);
    parseError("FROM a\nSHELL []\n", /SHELL requires at least one argument/);
    parseError("FROM a\nSHELL\n", /SHELL requires at least one argument/);
    const e = parseError('FROM a\nSHELL ["c:\\windows\\cmd.exe", "/S"]\n', /JSON form/);
    assert.match(e.hint ?? "", /back-slashes to be escaped/);
  });
});

describe("COPY and ADD", () => {
  it("splits sources and destination on blanks, keeping positions", () => {
    const c = one("COPY --chown=1:2 --chmod=644 a b  /dest/", "COPY");
    assert.deepEqual(
      c.sources.map((s) => [s.value, s.pos.column]),
      [
        ["a", 30],
        ["b", 32],
      ],
    );
    assert.deepEqual(c.dest, { value: "/dest/", pos: { line: 2, column: 35 } });
    assert.equal(c.chown?.value, "1:2");
    assert.equal(c.chmod?.value, "644");
    assert.equal(c.jsonForm, false);
  });

  it("reads the JSON form, which allows blanks in paths", () => {
    const c = one('COPY ["a b.txt", "c", "/my dir/"]', "COPY");
    assert.deepEqual(
      c.sources.map((s) => s.value),
      ["a b.txt", "c"],
    );
    assert.equal(c.dest.value, "/my dir/");
    assert.equal(c.jsonForm, true);
  });

  it("reads every COPY flag", () => {
    const c = one("COPY --from=build --link --parents --exclude=*.md --exclude=tmp/ a /b", "COPY");
    assert.equal(c.from?.value, "build");
    assert.equal(c.link?.value, undefined);
    assert.ok(c.parents);
    assert.deepEqual(
      c.excludes.map((e) => e.value),
      ["*.md", "tmp/"],
    );
  });

  it("reads every ADD flag", () => {
    const a = one(
      "ADD --checksum=sha256:abc --keep-git-dir=true --unpack=false --link=false --chown=app https://x/y.tgz /z",
      "ADD",
    );
    assert.equal(a.checksum?.value, "sha256:abc");
    assert.equal(a.keepGitDir?.value, "true");
    assert.equal(a.unpack?.value, "false");
    assert.equal(a.link?.value, "false");
    assert.equal(a.chown?.value, "app");
  });

  it("needs a destination", () => {
    parseError(
      "FROM a\nCOPY onlyone\n",
      /COPY requires at least two arguments, but only one was provided/,
      2,
      6,
    );
    parseError("FROM a\nADD\n", /ADD requires at least two arguments/, 2, 1);
    parseError('FROM a\nCOPY ["a"]\n', /at least two arguments/);
  });

  it("does not accept COPY-only flags on ADD and the other way round", () => {
    parseError("FROM a\nADD --from=x a b\n", /unknown flag: --from/, 2, 5);
    parseError("FROM a\nCOPY --checksum=x a b\n", /unknown flag: --checksum/);
  });
});

describe("ARG", () => {
  it("reads several names with and without defaults, quotes kept", () => {
    const a = one('ARG A B=1 C="x y" D= E=${A:-z}', "ARG");
    assert.deepEqual(
      a.declarations.map((d) => [d.name, d.defaultValue, d.pos.column, d.valuePos?.column]),
      [
        ["A", undefined, 5, undefined],
        ["B", "1", 7, 9],
        ["C", '"x y"', 11, 13],
        ["D", "", 19, 21],
        ["E", "${A:-z}", 22, 24],
      ],
    );
  });

  it("keeps escapes in the default for the expansion to handle", () => {
    assert.equal(one("ARG A=a\\ b", "ARG").declarations[0]?.defaultValue, "a\\ b");
  });

  it("rejects a missing name", () => {
    parseError("ARG\nFROM a\n", /ARG requires at least one argument/, 1, 1);
    parseError("ARG =x\nFROM a\n", /ARG names can not be blank/, 1, 5);
  });
});

describe("ENV and LABEL", () => {
  it("reads key=value pairs, quotes kept", () => {
    const e = one("ENV A=1 B=\"two words\" C='x' D=", "ENV");
    assert.deepEqual(
      e.pairs.map((p) => [p.key, p.value]),
      [
        ["A", "1"],
        ["B", '"two words"'],
        ["C", "'x'"],
        ["D", ""],
      ],
    );
    assert.equal(e.legacy, false);
  });

  it("reads the legacy `ENV key value` form: the value is the rest of the line", () => {
    const e = one('ENV MY_VAR my value "with quotes"', "ENV");
    assert.deepEqual(e.pairs, [
      {
        key: "MY_VAR",
        value: 'my value "with quotes"',
        pos: { line: 2, column: 5 },
        valuePos: { line: 2, column: 12 },
      },
    ]);
    assert.equal(e.legacy, true);
  });

  it("reads LABEL pairs, with quoted keys and an escaped newline", () => {
    const l = one('LABEL "com.example.vendor"="ACME" version=1.0 description="a \\\nb"', "LABEL");
    assert.deepEqual(
      l.pairs.map((p) => [p.key, p.value]),
      [
        ['"com.example.vendor"', '"ACME"'],
        ["version", "1.0"],
        ["description", '"a b"'],
      ],
    );
  });

  it("rejects pairs without = and blank names", () => {
    parseError("FROM a\nENV A=1 B\n", /can't find = in "B"/, 2, 9);
    parseError("FROM a\nENV =1\n", /ENV names can not be blank/, 2, 5);
    parseError("FROM a\nENV\n", /ENV requires at least one argument/);
    parseError("FROM a\nENV ONLYKEY\n", /ENV must have two arguments/);
    parseError("FROM a\nLABEL x\n", /LABEL must have two arguments/);
  });
});

describe("the other instructions", () => {
  it("EXPOSE keeps each word", () => {
    assert.deepEqual(
      one("EXPOSE 80/tcp  53/udp $PORT", "EXPOSE").ports.map((p) => p.value),
      ["80/tcp", "53/udp", "$PORT"],
    );
    parseError("FROM a\nEXPOSE\n", /EXPOSE requires at least one argument/);
  });

  it("VOLUME takes JSON or words", () => {
    assert.deepEqual(
      one('VOLUME ["/data", "/var/log"]', "VOLUME").paths.map((p) => p.value),
      ["/data", "/var/log"],
    );
    const v = one("VOLUME /a /b", "VOLUME");
    assert.deepEqual(
      v.paths.map((p) => p.value),
      ["/a", "/b"],
    );
    assert.equal(v.jsonForm, false);
    parseError('FROM a\nVOLUME [""]\n', /VOLUME specified can not be an empty string/);
    parseError("FROM a\nVOLUME []\n", /VOLUME requires at least one argument/);
  });

  it("WORKDIR, USER, STOPSIGNAL and MAINTAINER take the whole rest of the line", () => {
    assert.equal(one("WORKDIR /path with space", "WORKDIR").path.value, "/path with space");
    assert.equal(one("USER app:app", "USER").user.value, "app:app");
    assert.equal(one("STOPSIGNAL SIGKILL", "STOPSIGNAL").signal.value, "SIGKILL");
    assert.equal(one("MAINTAINER Jane <j@x.org>", "MAINTAINER").name.value, "Jane <j@x.org>");
    for (const k of ["WORKDIR", "USER", "STOPSIGNAL", "MAINTAINER"]) {
      parseError(`FROM a\n${k}\n`, new RegExp(`${k} requires exactly one argument`), 2, 1);
    }
  });

  it("HEALTHCHECK CMD with options, in both forms", () => {
    const h = one(
      "HEALTHCHECK --interval=5m --timeout=3s --start-period=1m30s --start-interval=500ms --retries=3 CMD curl -f http://localhost/ || exit 1",
      "HEALTHCHECK",
    );
    assert.equal(h.type, "CMD");
    assert.deepEqual(h.command?.form === "shell" && h.command.text, "curl -f http://localhost/ || exit 1");
    assert.deepEqual(h.timings, {
      intervalNs: 300e9,
      timeoutNs: 3e9,
      startPeriodNs: 90e9,
      startIntervalNs: 500e6,
      retries: 3,
    });
    const j = one('HEALTHCHECK cmd ["/bin/check", "-q"]', "HEALTHCHECK");
    assert.deepEqual(j.command?.form === "exec" && j.command.args, ["/bin/check", "-q"]);
    assert.deepEqual(j.timings, {
      intervalNs: 0,
      timeoutNs: 0,
      startPeriodNs: 0,
      startIntervalNs: 0,
      retries: 0,
    });
  });

  it("HEALTHCHECK NONE", () => {
    const h = one("HEALTHCHECK NONE", "HEALTHCHECK");
    assert.equal(h.type, "NONE");
    assert.equal(h.command, undefined);
    parseError("FROM a\nHEALTHCHECK NONE x\n", /HEALTHCHECK NONE takes no arguments/, 2, 18);
  });

  it("HEALTHCHECK errors", () => {
    parseError("FROM a\nHEALTHCHECK\n", /HEALTHCHECK requires at least one argument/);
    parseError("FROM a\nHEALTHCHECK CMD\n", /Missing command after HEALTHCHECK CMD/);
    parseError("FROM a\nHEALTHCHECK CMD []\n", /Missing command after HEALTHCHECK CMD/);
    parseError("FROM a\nHEALTHCHECK RUN x\n", /Unknown type "RUN" in HEALTHCHECK \(try CMD\)/);
    parseError(
      "FROM a\nHEALTHCHECK --interval=10 CMD x\n",
      /time: invalid duration "10" \(--interval\)/,
      2,
      24,
    );
    parseError("FROM a\nHEALTHCHECK --timeout=-1s CMD x\n", /cannot be less than 1ms/);
    parseError("FROM a\nHEALTHCHECK --retries=-1 CMD x\n", /--retries cannot be negative \(-1\)/);
    parseError("FROM a\nHEALTHCHECK --retries=x CMD x\n", /invalid value for --retries/);
    parseError("FROM a\nHEALTHCHECK --interval CMD x\n", /missing a value on flag: interval/);
  });

  it("ONBUILD wraps a parsed trigger and keeps its expression", () => {
    const o = one("ONBUILD RUN --mount=type=cache,target=/c make", "ONBUILD");
    assert.ok(o.trigger);
    assert.equal(o.trigger.keyword, "RUN");
    assert.deepEqual(o.trigger.pos, { line: 2, column: 9 });
    assert.equal(o.trigger.keyword === "RUN" && o.trigger.mounts[0]?.value, "type=cache,target=/c");
    assert.equal(o.expression, "RUN --mount=type=cache,target=/c make");
    assert.equal(one("onbuild copy . /app", "ONBUILD").trigger?.keyword, "COPY");
  });

  it("ONBUILD refuses ONBUILD, FROM and MAINTAINER triggers", () => {
    parseError(
      "FROM a\nONBUILD ONBUILD RUN x\n",
      /Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed/,
      2,
      9,
    );
    parseError("FROM a\nONBUILD FROM b\n", /FROM isn't allowed as an ONBUILD trigger/);
    parseError("FROM a\nONBUILD maintainer me\n", /MAINTAINER isn't allowed as an ONBUILD trigger/);
    parseError("FROM a\nONBUILD\n", /ONBUILD requires at least one argument/);
  });

  it("ONBUILD keeps a trigger that does not parse, with its error, for the build that runs it", () => {
    for (const [text, error] of [
      ["ONBUILD RUNN x", /unknown instruction: RUNN/],
      ["ONBUILD RUN --mont=x true", /unknown flag: --mont/],
    ] as const) {
      const o = one(text, "ONBUILD");
      assert.equal(o.trigger, undefined);
      assert.match(String(o.triggerError), error);
      assert.equal(o.expression, text.slice("ONBUILD ".length));
    }
  });
});
