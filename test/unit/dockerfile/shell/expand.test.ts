// biome-ignore-all lint/suspicious/noTemplateCurlyInString: these strings are Dockerfile and shell text, not templates
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { DockerfileError } from "../../../../src/dockerfile/errors.ts";
import { expandWithMatches, expandWord, expandWords } from "../../../../src/dockerfile/shell/index.ts";
import { UserError } from "../../../../src/errors/user-error.ts";

const env = {
  PWD: "/home",
  SHELL: "bash",
  KOREAN: "한국어",
  EMPTY: "",
  SPACED: " a  b ",
  FILE: "src/app.tar.gz",
};

function ok(text: string, expected: string, e: Record<string, string> = env): void {
  assert.equal(expandWord(text, e), expected, text);
}

function bad(text: string, message: RegExp): void {
  assert.throws(
    () => expandWord(text, env),
    (err: unknown) => err instanceof UserError && message.test(err.message),
    text,
  );
}

describe("expandWord: quotes and escapes", () => {
  it("removes quotes", () => {
    ok("hello", "hello");
    ok("he'll'o", "hello");
    ok('he"ll"o', "hello");
    ok("'a b'", "a b");
    ok('"\'"', "'");
    ok("'\"'", '"');
  });

  it("escapes anything outside quotes with the escape character", () => {
    ok("he\\'llo", "he'llo");
    ok("\\$PWD", "$PWD");
    ok("a\\ b", "a b");
    ok("abc\\\\", "abc\\");
    ok("abc\\", "abc");
  });

  it("keeps single-quoted text literally", () => {
    ok("'$PWD'", "$PWD");
    ok("'\\$PWD'", "\\$PWD");
    ok("'abc\\\\'", "abc\\\\");
  });

  it('escapes only " $ and the escape character inside double quotes', () => {
    ok('"\\$PWD"', "$PWD");
    ok('"a\\"b"', 'a"b');
    ok('"abc\\\\"', "abc\\");
    ok('"a\\nb"', "a\\nb");
    ok('"$PWD"', "/home");
    ok("\"'$PWD'\"", "'/home'");
  });

  it("uses a backtick as escape character when the file says so", () => {
    const opts = { escapeChar: "`" as const };
    assert.equal(expandWord("a`$PWD", env, opts), "a$PWD");
    assert.equal(expandWord("c:\\windows\\$SHELL", env, opts), "c:\\windows\\bash");
    assert.equal(expandWord('"a`"b"', env, opts), 'a"b');
    assert.equal(expandWord("a``b", env, opts), "a`b");
  });

  it("fails on unterminated quotes", () => {
    bad("he'llo", /matching single-quote/);
    bad('"abc', /matching double-quote/);
    bad("he\\\\'llo", /matching single-quote/);
  });
});

describe("expandWord: variables", () => {
  it("replaces $V and ${V}, unset ones with nothing", () => {
    ok("$PWD", "/home");
    ok("${PWD}", "/home");
    ok("x${PWD}y", "x/homey");
    ok("$PWD/x", "/home/x");
    ok("$UNSET", "");
    ok("${UNSET}", "");
    ok("$KOREAN", "한국어");
    ok("{$PWD}", "{/home}");
  });

  it("leaves a lone or invalid $ alone", () => {
    ok("$", "$");
    ok("a$", "a$");
    ok("$ a", "$ a");
    ok("$.x", "$.x");
  });

  it("reads digits and special parameters as names", () => {
    ok("$1x", "x");
    ok("$12", "", { "1": "one" });
    ok("$1", "one", { "1": "one" });
    ok("$@x", "x");
    ok("${#}", "");
  });

  it("${V:-w} ${V-w}", () => {
    ok("${UNSET:-def}", "def");
    ok("${EMPTY:-def}", "def");
    ok("${PWD:-def}", "/home");
    ok("${UNSET-def}", "def");
    ok("${EMPTY-def}", "");
    ok("${UNSET:-$PWD/x}", "/home/x");
    ok("${UNSET:-'a}b'}", "a}b");
    ok('${UNSET:-"a b"}', "a b");
    ok("${UNSET:-}", "");
  });

  it("${V:+w} ${V+w}", () => {
    ok("${PWD:+set}", "set");
    ok("${EMPTY:+set}", "");
    ok("${UNSET:+set}", "");
    ok("${EMPTY+set}", "set");
    ok("${UNSET+set}", "");
    ok("${PWD:+${KOREAN}}", "한국어");
  });

  it("${V:?msg} ${V?msg}", () => {
    ok("${PWD:?}", "/home");
    ok("${EMPTY?}", "");
    bad("${UNSET?}", /UNSET: is not allowed to be unset/);
    bad("${EMPTY:?}", /EMPTY: is not allowed to be empty/);
    bad("${UNSET:?you must set it}", /UNSET: you must set it/);
  });

  it("${V#p} ${V##p} ${V%p} ${V%%p} with * and ?", () => {
    ok("${FILE#*/}", "app.tar.gz");
    ok("${FILE#*.}", "tar.gz");
    ok("${FILE##*.}", "gz");
    ok("${FILE%.*}", "src/app.tar");
    ok("${FILE%%.*}", "src/app");
    ok("${FILE#src}", "/app.tar.gz");
    ok("${FILE#nomatch}", "src/app.tar.gz");
    ok("${FILE%?}", "src/app.tar.g");
    ok("${FILE#}", "src/app.tar.gz");
    ok("${UNSET#x}", "");
    ok("${KOREAN#?}", "국어");
  });

  it("escapes in patterns match literally; brackets are literal", () => {
    ok("${V#\\*}", "x", { V: "*x" });
    ok("${V#*\\?}", "b", { V: "a?b" });
    ok("${V%\\\\*}", "a", { V: "a\\bc" });
    ok("${V#[ab]}", "c", { V: "[ab]c" });
    bad("${FILE#\\x}", /invalid pattern .* invalid escape '\\x'/);
  });

  it("${V/p/r} and ${V//p/r}", () => {
    ok("${FILE/a/A}", "src/App.tar.gz");
    ok("${FILE//a/A}", "src/App.tAr.gz");
    ok("${FILE/.*/}", "src/app");
    ok("${FILE//[/x}", "src/app.tar.gz");
    ok("${FILE/\\//:}", "src:app.tar.gz");
    ok("${FILE/nomatch/x}", "src/app.tar.gz");
    ok("${UNSET/a/b}", "");
    ok("${V//*/x}", "x", { V: "abc" });
    ok("${V//?/-}", "---", { V: "abc" });
  });

  it("rejects malformed substitutions", () => {
    bad("${", /missing '}'/);
    bad("${PWD", /missing '}'/);
    bad("${PWD:-x", /missing '}'/);
    bad("${}", /bad substitution/);
    bad("${:x}", /bad substitution/);
    bad("${{x}", /bad substitution/);
    bad("${PWD:=x}", /unsupported modifier \(:=\) in substitution/);
    bad("${PWD:#x}", /unsupported modifier \(:#\)/);
    bad("${PWD!}", /unsupported modifier \(!\)/);
    bad("${PWD/x", /missing '\/' in \$\{\}/);
    bad("${PWD/x/y", /missing '}'/);
  });

  it("names the text that failed and gives a hint", () => {
    try {
      expandWord("a ${X:=1}", {});
      assert.fail("no error");
    } catch (e) {
      assert.ok(e instanceof UserError);
      assert.match(e.message, /^failed to process "a \$\{X:=1\}": unsupported modifier/);
      assert.match(e.hint ?? "", /supported forms/);
    }
  });

  it("gives a DockerfileError at the $ when told where the text is", () => {
    const source = { file: "Dockerfile", lines: ["FROM a", "ENV A=${B:?set B}"] };
    try {
      expandWord("${B:?set B}", {}, { at: { source, pos: { line: 2, column: 7 } } });
      assert.fail("no error");
    } catch (e) {
      assert.ok(e instanceof DockerfileError);
      assert.equal(e.message, 'failed to process "${B:?set B}": B: set B');
      assert.deepEqual(e.location, { file: "Dockerfile", line: 2, column: 7, source: "ENV A=${B:?set B}" });
    }
  });

  it("leaves unset variables as written with skipUnsetEnv", () => {
    const opts = { skipUnsetEnv: true };
    assert.equal(expandWord("$A ${B} ${C:-x} ${D/a/b} $PWD", env, opts), "$A ${B} ${C:-x} ${D/a/b} /home");
  });

  it("keeps quotes as text with processQuotes: false (heredoc bodies)", () => {
    assert.equal(
      expandWord("echo \"$PWD\" '$SHELL' \\$PWD\n", env, { processQuotes: false }),
      "echo \"/home\" 'bash' $PWD\n",
    );
  });

  it("accepts a Map, a record or a lookup function", () => {
    assert.equal(expandWord("$A", new Map([["A", "m"]])), "m");
    assert.equal(expandWord("$A", { A: "r" }), "r");
    assert.equal(
      expandWord("$A", (n) => (n === "A" ? "f" : undefined)),
      "f",
    );
    assert.equal(expandWord("${toString:-unset}", {}), "unset");
  });
});

describe("expandWords", () => {
  it("splits on unquoted blanks, including blanks that come from values", () => {
    assert.deepEqual(expandWords("80 443/tcp  $PORTS", { PORTS: "8080 9090/udp" }), [
      "80",
      "443/tcp",
      "8080",
      "9090/udp",
    ]);
    assert.deepEqual(expandWords("$SPACED", env), ["a", "b"]);
    assert.deepEqual(expandWords('"$SPACED" x', env), [" a  b ", "x"]);
    assert.deepEqual(expandWords("a\\ b c", env), ["a b", "c"]);
    assert.deepEqual(expandWords("'a b'c d", env), ["a bc", "d"]);
  });

  it("drops empty words, even quoted ones", () => {
    assert.deepEqual(expandWords('"" a $UNSET', env), ["a"]);
    assert.deepEqual(expandWords("", env), []);
  });

  it("keeps expandWord's blanks", () => {
    assert.equal(expandWord("a  $SPACED", env), "a   a  b ");
  });
});

describe("expandWithMatches", () => {
  it("reports which variables were set and which were not", () => {
    const r = expandWithMatches("$PWD ${UNSET:-x} ${EMPTY}", env);
    assert.equal(r.value, "/home x ");
    assert.deepEqual([...r.matched].sort(), ["EMPTY", "PWD"]);
    assert.deepEqual([...r.unmatched], ["UNSET"]);
  });
});
