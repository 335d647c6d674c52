// biome-ignore-all lint/suspicious/noTemplateCurlyInString: these strings are Dockerfile and shell text, not templates
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { referencedVariables } from "../../../../src/dockerfile/shell/index.ts";

describe("referencedVariables", () => {
  it("lists names in order of first appearance, in every branch", () => {
    assert.deepEqual(referencedVariables('$A ${B:-$C} ${A} "$D" ${E?} ${F:?} ${G#$H} ${I/$J/$K}'), [
      "A",
      "B",
      "C",
      "D",
      "E",
      "F",
      "G",
      "H",
      "I",
      "J",
      "K",
    ]);
  });

  it("ignores single-quoted and escaped references and special parameters", () => {
    assert.deepEqual(referencedVariables("'$A' \\$B $1 $@ $$ ${#} $? x$"), []);
  });

  it("honours the escape character", () => {
    assert.deepEqual(referencedVariables("`$A $B", { escapeChar: "`" }), ["B"]);
    assert.deepEqual(referencedVariables("\\$A", { escapeChar: "`" }), ["A"]);
  });

  it("throws on malformed text", () => {
    assert.throws(() => referencedVariables("${A"), /missing '}'/);
  });
});
