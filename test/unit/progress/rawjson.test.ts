import assert from "node:assert/strict";
import { createHash } from "node:crypto";
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

const parse = (text: string) =>
  text
    .trimEnd()
    .split("\n")
    .map((l) => JSON.parse(l));
const digest = `sha256:${"a".repeat(64)}`;
const iso = (ms: number) => new Date(ms).toISOString();

test("rawjson writes BuildKit's SolveStatus objects, one a line, log data as base64", async () => {
  const text = await render([
    { type: "build.start", platforms: ["linux/arm64"], at: 0 },
    { type: "vertex.start", id: digest, name: "[2/2] RUN a && b > c", platform: "linux/arm64", at: 5 },
    { type: "vertex.log", id: digest, stream: "stderr", data: utf8("héllo\n"), at: 7 },
    { type: "vertex.status", id: digest, statusId: "s", name: "sha256:abc", current: 10, total: 20, at: 8 },
    {
      type: "vertex.status",
      id: digest,
      statusId: "s",
      name: "sha256:abc",
      current: 20,
      total: 20,
      done: true,
      at: 9,
    },
    { type: "vertex.done", id: digest, durationMs: 9, error: "exit code: 2", at: 14 },
    {
      type: "build.done",
      durationMs: 20,
      platforms: [{ platform: "linux/arm64", durationMs: 9, steps: 1, cached: 0, emulatedMs: 9 }],
      at: 20,
    },
  ]);
  const name = "[2/2] RUN a \\u0026\\u0026 b \\u003e c";
  assert.equal(
    text,
    [
      `{"vertexes":[{"digest":"${digest}","name":"${name}","started":"${iso(5)}"}]}`,
      `{"logs":[{"vertex":"${digest}","stream":2,"data":"aMOpbGxvCg==","timestamp":"${iso(7)}"}]}`,
      `{"statuses":[{"id":"s","vertex":"${digest}","name":"sha256:abc","total":20,"current":10,"timestamp":"${iso(8)}","started":"${iso(8)}"}]}`,
      `{"statuses":[{"id":"s","vertex":"${digest}","name":"sha256:abc","total":20,"current":20,"timestamp":"${iso(9)}","started":"${iso(8)}","completed":"${iso(9)}"}]}`,
      `{"vertexes":[{"digest":"${digest}","name":"${name}","started":"${iso(5)}","completed":"${iso(14)}","error":"exit code: 2"}]}`,
      "",
    ].join("\n"),
    "build.start and build.done have no SolveStatus form",
  );
  assert.equal(Buffer.from(parse(text)[1].logs[0].data, "base64").toString(), "héllo\n");
});

test("rawjson gives ids that are not digests a stable digest, and cached steps BuildKit's cached form", async () => {
  const text = await render([
    { type: "vertex.cached", id: "export-1", name: "[1/1] COPY a /a", at: 3 },
    { type: "vertex.start", id: "export-1", name: "again", at: 4 },
  ]);
  const [cached, again] = parse(text);
  const expected = `sha256:${createHash("sha256").update("export-1").digest("hex")}`;
  assert.deepEqual(cached, {
    vertexes: [
      { digest: expected, name: "[1/1] COPY a /a", started: iso(3), completed: iso(3), cached: true },
    ],
  });
  assert.equal(again.vertexes[0].digest, expected);
});

test("rawjson warnings are VertexWarnings: base64 short with the line, detail, url, source and range", async () => {
  const text = await render([
    {
      type: "warning",
      message: "JSONArgsRecommended: JSON arguments recommended for CMD",
      detail: "JSON arguments recommended for ENTRYPOINT/CMD",
      url: "https://docs.docker.com/go/dockerfile/rule/json-args-recommended/",
      location: { file: "Dockerfile", line: 5 },
      at: 1,
    },
  ]);
  const [w] = parse(text)[0].warnings;
  const b64 = (s: string) => Buffer.from(s).toString("base64");
  assert.deepEqual(w, {
    level: 1,
    short: b64("JSONArgsRecommended: JSON arguments recommended for CMD (line 5)"),
    detail: [b64("JSON arguments recommended for ENTRYPOINT/CMD")],
    url: "https://docs.docker.com/go/dockerfile/rule/json-args-recommended/",
    sourceInfo: { filename: "Dockerfile", language: "Dockerfile" },
    range: [{ start: { line: 5 }, end: { line: 5 } }],
  });
});

test("rawjson without values to redact passes log chunks through as they came", async () => {
  const text = await render([
    { type: "vertex.log", id: digest, stream: "stdout", data: utf8("par"), at: 1 },
    { type: "vertex.log", id: digest, stream: "stdout", data: utf8("tial\n"), at: 2 },
  ]);
  const data = parse(text).map((l) => Buffer.from(l.logs[0].data, "base64").toString());
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
  const lines = parse(text);
  const logs = lines.filter((l) => l.logs).map((l) => Buffer.from(l.logs[0].data, "base64").toString());
  assert.deepEqual(logs, ["password: ***\n", "tail ***"]);
  assert.equal(lines.at(-1).vertexes[0].error, "bad ***");
  assert.ok(!text.includes(Buffer.from("hunter2").toString("base64")));
});
