import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { isTrueFlag } from "../../../../src/dockerfile/parse/index.ts";
import { one, parse, parseError } from "./helpers.ts";

describe("instruction flags", () => {
  it("records name, value, positions and the raw text", () => {
    const c = one("COPY --from=build --link a b", "COPY");
    assert.deepEqual(c.flags, [
      {
        name: "from",
        value: "build",
        pos: { line: 2, column: 6 },
        valuePos: { line: 2, column: 13 },
        raw: "--from=build",
      },
      { name: "link", value: undefined, pos: { line: 2, column: 19 }, valuePos: undefined, raw: "--link" },
    ]);
  });

  it("removes quotes and backslash escapes from flag values, as BuildKit does", () => {
    const r = one("RUN --mount=\"type=secret,id=a b\" --network='none' --security=in\\secure echo", "RUN");
    assert.deepEqual(
      r.flags.map((f) => f.value),
      ["type=secret,id=a b", "none", "insecure"],
    );
    assert.equal(r.command.form === "shell" && r.command.text, "echo");
  });

  it("stops at the first word that is not a flag, and after a lone --", () => {
    const r = one("RUN --network=none echo --mount=x", "RUN");
    assert.equal(r.flags.length, 1);
    assert.equal(r.command.form === "shell" && r.command.text, "echo --mount=x");
    const s = one("RUN -- --not-a-flag", "RUN");
    assert.equal(s.flags.length, 0);
    assert.equal(s.command.form === "shell" && s.command.text, "--not-a-flag");
  });

  it("treats bool flags as true when bare or =true (any case)", () => {
    assert.equal(isTrueFlag(one("COPY --link a b", "COPY").link), true);
    assert.equal(isTrueFlag(one("COPY --link=TRUE a b", "COPY").link), true);
    assert.equal(isTrueFlag(one("COPY --link=false a b", "COPY").link), false);
    assert.equal(isTrueFlag(undefined), false);
  });

  it("rejects unknown flags with a suggestion and the accepted list", () => {
    const e = parseError(
      "FROM a\nRUN --mout=type=cache x\n",
      /unknown flag: --mout \(did you mean mount\?\)/,
      2,
      5,
    );
    assert.match(e.hint ?? "", /--mount, --network, --security/);
    const n = parseError("FROM a\nENV --x=1 A=b\n", /unknown flag: --x/);
    assert.equal(n.hint, "ENV takes no flags");
    parseError("FROM a\nCMD --version\n", /unknown flag: --version/);
    parseError("FROM a\nONBUILD --x RUN y\n", /unknown flag: --x/);
    parseError("FROM --plattform=x a\n", /unknown flag: --plattform \(did you mean platform\?\)/);
  });

  it("checks values: strings need one, bools must be true or false, only list flags repeat", () => {
    parseError("FROM a\nCOPY --from a b\n", /missing a value on flag: from/);
    parseError("FROM a\nCOPY --link= a b\n", /missing a value on flag: link/);
    parseError("FROM a\nCOPY --link=yes a b\n", /expecting boolean value for flag link, not: yes/);
    parseError("FROM a\nCOPY --from=a --from=b a b\n", /duplicate flag specified: from/, 2, 15);
    assert.equal(one("COPY --exclude=a --exclude=b a b", "COPY").excludes.length, 2);
  });

  it("keeps empty values", () => {
    assert.equal(one('COPY --chown="" a b', "COPY").chown?.value, "");
  });

  it("accepts labs-only flags only with a labs syntax", () => {
    parseError(
      "FROM a\nRUN --device=x y\n",
      /device feature is only supported in Dockerfile frontend 1.14.0-labs/,
    );
    const insts = parse("# syntax=docker/dockerfile:1-labs\nFROM a\nRUN --device=nvidia.com/gpu=all y\n");
    assert.equal(insts[1]?.flags[0]?.value, "nvidia.com/gpu=all");
  });
});
