import assert from "node:assert/strict";
import { test } from "node:test";
import { jsonSyntaxProblem } from "../../../src/errors/json-syntax.ts";

function problem(text: string): string {
  try {
    JSON.parse(text);
  } catch (e) {
    return jsonSyntaxProblem(e, text);
  }
  throw new Error("valid JSON");
}

test("a JSON fault is located by line and column, and none of the text is quoted", () => {
  const secret = "c2VjcmV0LXRva2Vu";
  const cases: [string, string][] = [
    [`{\n  "auth": ${secret}\n}`, "invalid JSON at line 2, column 11"],
    [`{"auth": "${secret}" x}`, "invalid JSON at line 1, column 29"],
    [`{"auth": "${secret}"`, "invalid JSON at line 1, column 28"],
    [`{"auth": "${secret}"}} trailing`, "invalid JSON at line 1, column 29"],
    ["", "invalid JSON: it ends early"],
  ];
  for (const [text, expected] of cases) {
    const message = problem(text);
    assert.equal(message, expected, text);
    assert.ok(!message.includes(secret.slice(0, 4)));
  }
});
