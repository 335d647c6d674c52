import assert from "node:assert/strict";
import { test } from "node:test";
import { createProgress } from "../../../src/progress/index.ts";
import { FakeTerminal, utf8 } from "./fake-terminal.ts";

test("quiet prints nothing for a good build, not even the summary", async () => {
  const out = new FakeTerminal();
  const progress = createProgress("quiet", out, { clock: () => 0 });
  progress.emit({ type: "vertex.start", id: "a", name: "[1/1] RUN true", at: 0 });
  progress.emit({ type: "vertex.log", id: "a", stream: "stdout", data: utf8("noise\n"), at: 1 });
  progress.emit({ type: "vertex.done", id: "a", durationMs: 2, at: 2 });
  progress.emit({ type: "warning", message: "a lint finding", at: 3 });
  progress.emit({
    type: "build.done",
    durationMs: 3,
    platforms: [{ platform: "linux/amd64", durationMs: 3, steps: 1, cached: 0, emulatedMs: 0 }],
    at: 3,
  });
  await progress.close();
  assert.equal(out.text, "");
});

test("quiet prints a failed step with its last lines of output", async () => {
  const out = new FakeTerminal();
  const progress = createProgress("quiet", out, { clock: () => 0 });
  progress.emit({
    type: "vertex.start",
    id: "a",
    name: "[linux/arm64 2/2] RUN make",
    emulated: true,
    at: 1000,
  });
  for (let i = 1; i <= 100; i++) {
    progress.emit({
      type: "vertex.log",
      id: "a",
      stream: "stderr",
      data: utf8(`line ${i}\n`),
      at: 1000 + i * 10,
    });
  }
  progress.emit({ type: "vertex.done", id: "a", durationMs: 2000, error: "exit code: 2", at: 3000 });
  await progress.close();
  const lines = out.text.split("\n");
  assert.equal(lines[0], "------");
  assert.equal(lines[1], " > [linux/arm64 2/2] RUN make:");
  assert.equal(lines.at(-3), "1.000 line 100");
  assert.equal(lines.at(-2), "------");
  // Only a bounded tail is kept and shown.
  assert.ok(!out.text.includes("line 50\n"));
});
