import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { LogMask } from "../../../src/solver/log-mask.ts";

function feed(mask: LogMask, chunks: string[]): string {
  let out = "";
  for (const c of chunks) out += mask.push("stdout", Buffer.from(c)).toString();
  return out + mask.flush("stdout").toString();
}

describe("masking secrets in a step's output", () => {
  it("masks a value even when the output splits it across chunks", () => {
    const mask = new LogMask(["hunter2-secret"]);
    assert.equal(feed(mask, ["token=hun", "ter2-sec", "ret\ndone\n"]), "token=***\ndone\n");
  });

  it("passes output through unchanged (and in full) when it holds no secret", () => {
    const mask = new LogMask(["a-long-secret-value"]);
    assert.equal(feed(mask, ["hello ", "world\n"]), "hello world\n");
  });

  it("masks each line of a multi-line secret", () => {
    const mask = new LogMask(["line-one-xyz\nline-two-xyz"]);
    assert.equal(mask.text("got line-two-xyz"), "got ***");
  });

  it("is inactive without secrets", () => {
    assert.equal(new LogMask([]).active, false);
  });
});
