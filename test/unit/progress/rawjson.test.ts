import assert from "node:assert/strict";
import { test } from "node:test";
import type { ProgressEvent } from "../../../src/progress/events.ts";
import { createProgress } from "../../../src/progress/index.ts";
import { FakeTerminal, utf8 } from "./fake-terminal.ts";

async function render(events: ProgressEvent[], redact?: string[]) {
  const out = new FakeTerminal({ isTTY: true, columns: 80, rows: 24 });
  const progress = createProgress("rawjson", out, { clock: () => 0, ...(redact ? { redact } : {}) });
  for (const e of events) progress.emit(e);
  await progress.close();
  return out.text;
}

test("rawjson writes one JSON object per event, log data as base64, fields in a fixed order", async () => {
  const text = await render([
    // Fields given in an unusual order: the output order does not depend on it.
    {
      at: 5,
      name: "[linux/arm64 2/2] RUN make",
      id: "v1",
      type: "vertex.start",
      emulated: true,
      platform: "linux/arm64",
    },
    { type: "vertex.log", id: "v1", stream: "stderr", data: utf8("héllo\n"), at: 7 },
    { type: "vertex.status", id: "v1", statusId: "s", name: "sha256:abc", current: 10, total: 20, at: 8 },
    { type: "vertex.done", id: "v1", durationMs: 9, error: "exit code: 2", at: 14 },
    {
      type: "build.done",
      durationMs: 20,
      platforms: [{ platform: "linux/arm64", durationMs: 9, steps: 1, cached: 0, emulatedMs: 9 }],
      at: 20,
    },
  ]);
  assert.equal(
    text,
    [
      '{"type":"vertex.start","id":"v1","name":"[linux/arm64 2/2] RUN make","platform":"linux/arm64","emulated":true,"at":5}',
      '{"type":"vertex.log","id":"v1","stream":"stderr","data":"aMOpbGxvCg==","at":7}',
      '{"type":"vertex.status","id":"v1","statusId":"s","name":"sha256:abc","current":10,"total":20,"at":8}',
      '{"type":"vertex.done","id":"v1","durationMs":9,"error":"exit code: 2","at":14}',
      '{"type":"build.done","durationMs":20,"platforms":[{"platform":"linux/arm64","durationMs":9,"steps":1,"cached":0,"emulatedMs":9}],"at":20}',
      "",
    ].join("\n"),
  );
  // Every line parses, and the log bytes come back exactly.
  const lines = text
    .trimEnd()
    .split("\n")
    .map((l) => JSON.parse(l));
  assert.equal(Buffer.from(lines[1].data, "base64").toString(), "héllo\n");
});

test("rawjson without values to redact passes log chunks through as they came", async () => {
  const text = await render([
    { type: "vertex.log", id: "v", stream: "stdout", data: utf8("par"), at: 1 },
    { type: "vertex.log", id: "v", stream: "stdout", data: utf8("tial\n"), at: 2 },
  ]);
  const data = text
    .trimEnd()
    .split("\n")
    .map((l) => Buffer.from(JSON.parse(l).data, "base64").toString());
  assert.deepEqual(data, ["par", "tial\n"]);
});

test("rawjson masks redacted values in log data even when a chunk boundary cuts them", async () => {
  const text = await render(
    [
      { type: "vertex.start", id: "v", name: "[1/1] RUN login", at: 0 },
      { type: "vertex.log", id: "v", stream: "stdout", data: utf8("password: hun"), at: 1 },
      { type: "vertex.log", id: "v", stream: "stdout", data: utf8("ter2\ntail hunter2"), at: 2 },
      { type: "vertex.done", id: "v", durationMs: 3, error: "bad hunter2", at: 3 },
    ],
    ["hunter2"],
  );
  const events = text
    .trimEnd()
    .split("\n")
    .map((l) => JSON.parse(l));
  const logs = events
    .filter((e) => e.type === "vertex.log")
    .map((e) => Buffer.from(e.data, "base64").toString());
  assert.deepEqual(logs, ["password: ***\n", "tail ***"]);
  assert.equal(events.at(-1).error, "bad ***");
  assert.ok(!text.includes(Buffer.from("hunter2").toString("base64")));
});
