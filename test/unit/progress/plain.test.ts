import assert from "node:assert/strict";
import { test } from "node:test";
import type { ProgressEvent } from "../../../src/progress/events.ts";
import { createProgress } from "../../../src/progress/index.ts";
import { FakeClock, FakeTerminal, utf8 } from "./fake-terminal.ts";

async function render(
  events: ProgressEvent[],
  options: { redact?: string[]; statusIntervalMs?: number } = {},
) {
  const out = new FakeTerminal();
  const clock = new FakeClock();
  const progress = createProgress("plain", out, { clock: clock.read, ...options });
  for (const e of events) {
    clock.now = e.at;
    progress.emit(e);
  }
  await progress.close();
  return out.text;
}

const summary: ProgressEvent = {
  type: "build.done",
  durationMs: 14_300,
  at: 14_300,
  platforms: [
    { platform: "linux/amd64", durationMs: 3100, steps: 12, cached: 9, emulatedMs: 0 },
    { platform: "linux/arm64", durationMs: 14_200, steps: 12, cached: 9, emulatedMs: 11_000 },
  ],
};

test("plain output numbers steps, prefixes their logs with seconds since start and ends with a summary", async () => {
  const text = await render([
    { type: "vertex.start", id: "a", name: "[internal] load build definition from Dockerfile", at: 0 },
    {
      type: "vertex.status",
      id: "a",
      statusId: "t",
      name: "transferring dockerfile:",
      current: 120,
      done: true,
      at: 5,
    },
    { type: "vertex.done", id: "a", durationMs: 20, at: 20 },
    {
      type: "vertex.cached",
      id: "b",
      name: "[linux/amd64 builder 1/3] FROM docker.io/library/busybox",
      at: 30,
    },
    { type: "vertex.start", id: "c", name: "[linux/arm64 builder 3/5] RUN make", emulated: true, at: 1000 },
    { type: "vertex.log", id: "c", stream: "stdout", data: utf8("cc -o app main.c\n"), at: 1512 },
    { type: "vertex.log", id: "c", stream: "stderr", data: utf8("warning: unused\n"), at: 13_250 },
    { type: "vertex.done", id: "c", durationMs: 12_400, at: 13_400 },
    summary,
  ]);
  assert.equal(
    text,
    [
      "#1 [internal] load build definition from Dockerfile",
      "#1 transferring dockerfile: 120B done",
      "#1 DONE 0.0s",
      "",
      "#2 [linux/amd64 builder 1/3] FROM docker.io/library/busybox",
      "#2 CACHED",
      "",
      "#3 [linux/arm64 builder 3/5] RUN make (emulated)",
      "#3 0.512 cc -o app main.c",
      "#3 12.25 warning: unused",
      "#3 DONE 12.4s",
      "",
      "linux/amd64  12 steps (9 cached)   3.1s",
      "linux/arm64  12 steps (9 cached)  14.2s (11.0s emulated)",
      "",
    ].join("\n"),
  );
});

test("interleaved steps close their block with '...' and print their header again when they resume", async () => {
  const text = await render([
    { type: "vertex.start", id: "arm", name: "[linux/arm64 3/3] RUN make", emulated: true, at: 0 },
    { type: "vertex.log", id: "arm", stream: "stdout", data: utf8("arm 1\n"), at: 100 },
    { type: "vertex.start", id: "amd", name: "[linux/amd64 3/3] RUN make", at: 200 },
    { type: "vertex.log", id: "amd", stream: "stdout", data: utf8("amd 1\n"), at: 300 },
    { type: "vertex.log", id: "arm", stream: "stdout", data: utf8("arm 2\n"), at: 400 },
    {
      type: "vertex.done",
      id: "arm",
      durationMs: 500,
      error: 'process "/bin/sh -c make" did not complete successfully: exit code: 2',
      at: 500,
    },
    { type: "vertex.done", id: "amd", durationMs: 400, at: 600 },
  ]);
  assert.equal(
    text,
    [
      "#1 [linux/arm64 3/3] RUN make (emulated)",
      "#1 0.100 arm 1",
      "#1 ...",
      "",
      "#2 [linux/amd64 3/3] RUN make",
      "#2 0.100 amd 1",
      "#2 ...",
      "",
      "#1 [linux/arm64 3/3] RUN make (emulated)",
      "#1 0.400 arm 2",
      '#1 ERROR: process "/bin/sh -c make" did not complete successfully: exit code: 2',
      "",
      "#2 [linux/amd64 3/3] RUN make",
      "#2 DONE 0.4s",
      "",
    ].join("\n"),
  );
});

test("a pull's status is printed at most once per interval, and its final state always", async () => {
  const pull = (at: number, current: number, done?: boolean): ProgressEvent => ({
    type: "vertex.status",
    id: "f",
    statusId: "sha256:4f4f",
    name: "sha256:4f4fb700ef54",
    current,
    total: 40_000_000,
    at,
    ...(done ? { done } : {}),
  });
  const text = await render(
    [
      { type: "vertex.start", id: "f", name: "[linux/amd64 1/2] FROM example.com/base", at: 0 },
      pull(0, 0),
      pull(100, 1_000_000),
      pull(250, 5_000_000),
      pull(400, 12_300_000),
      pull(500, 20_000_000),
      pull(700, 30_000_000),
      pull(900, 40_000_000, true),
      { type: "vertex.done", id: "f", durationMs: 950, at: 950 },
    ],
    { statusIntervalMs: 300 },
  );
  assert.equal(
    text,
    [
      "#1 [linux/amd64 1/2] FROM example.com/base",
      "#1 sha256:4f4fb700ef54 12.30MB / 40.00MB 0.4s",
      "#1 sha256:4f4fb700ef54 30.00MB / 40.00MB 0.7s",
      "#1 sha256:4f4fb700ef54 40.00MB / 40.00MB 0.9s done",
      "#1 DONE 0.9s",
      "",
    ].join("\n"),
  );
});

test("a line split across chunks is printed once whole; an unterminated last line is printed at the end", async () => {
  const text = await render([
    { type: "vertex.start", id: "a", name: "[2/2] RUN printf", at: 0 },
    { type: "vertex.log", id: "a", stream: "stdout", data: utf8("hel"), at: 10 },
    { type: "vertex.log", id: "a", stream: "stdout", data: utf8("lo\nno newline"), at: 20 },
    { type: "vertex.done", id: "a", durationMs: 30, at: 30 },
  ]);
  assert.equal(text, "#1 [2/2] RUN printf\n#1 0.020 hello\n#1 0.030 no newline\n#1 DONE 0.0s\n");
});

test("redact masks given values in logs, errors and warnings, even when split across chunks", async () => {
  const text = await render(
    [
      { type: "vertex.start", id: "a", name: "[2/2] RUN deploy", at: 0 },
      { type: "vertex.log", id: "a", stream: "stdout", data: utf8("token=hunt"), at: 10 },
      { type: "vertex.log", id: "a", stream: "stdout", data: utf8("er2 ok\n"), at: 20 },
      { type: "warning", id: "a", message: "saw hunter2 in output", at: 25 },
      { type: "vertex.done", id: "a", durationMs: 30, error: "login failed for hunter2", at: 30 },
    ],
    { redact: ["hunter2"] },
  );
  assert.ok(!text.includes("hunter2"), text);
  assert.match(text, /#1 0\.020 token=\*\*\* ok\n/);
  assert.match(text, /#1 WARN: saw \*\*\* in output\n/);
  assert.match(text, /#1 ERROR: login failed for \*\*\*\n/);
});

test("a chatty step's endless line is streamed in bounded pieces, not held", async () => {
  const out = new FakeTerminal();
  const progress = createProgress("plain", out, { clock: () => 0 });
  progress.emit({ type: "vertex.start", id: "a", name: "[1/1] RUN yes | tr -d '\\n'", at: 0 });
  const chunk = utf8("y".repeat(64 * 1024));
  for (let i = 0; i < 16; i++)
    progress.emit({ type: "vertex.log", id: "a", stream: "stdout", data: chunk, at: 0 });
  // 1 MiB without a line break has already reached the output, before the step ends.
  const streamed = out.text.length;
  assert.ok(streamed > 1_000_000, `only ${streamed} characters written`);
  await progress.close();
});

test("warnings are listed after the summary in buildx's words, with their Dockerfile line", async () => {
  const text = await render([
    {
      type: "warning",
      message: "JSONArgsRecommended: JSON arguments recommended for CMD",
      location: { file: "Dockerfile", line: 7, column: 1 },
      at: 0,
    },
    { ...summary, platforms: summary.platforms.slice(0, 1) },
  ]);
  assert.equal(
    text,
    [
      "linux/amd64  12 steps (9 cached)  3.1s",
      "",
      " 1 warning found (use --debug to expand):",
      " - JSONArgsRecommended: JSON arguments recommended for CMD (line 7)",
      "",
    ].join("\n"),
  );
});

test("with expandWarnings (--debug) each warning is followed by its detail and link", async () => {
  const out = new FakeTerminal({ isTTY: false, columns: 80, rows: 24 });
  const progress = createProgress("plain", out, { clock: () => 0, expandWarnings: true });
  for (const [line, rule] of [
    [3, "UndefinedVar"],
    [7, "JSONArgsRecommended"],
  ] as const) {
    progress.emit({
      type: "warning",
      message: `${rule}: what`,
      detail: `${rule} detail`,
      url: `https://docs.docker.com/go/dockerfile/rule/${rule}/`,
      location: { file: "Dockerfile", line },
      at: 0,
    });
  }
  progress.emit({ type: "build.done", durationMs: 0, platforms: [], at: 0 });
  await progress.close();
  assert.equal(
    out.text,
    [
      " 2 warnings found:",
      " - UndefinedVar: what (line 3)",
      "UndefinedVar detail",
      "More info: https://docs.docker.com/go/dockerfile/rule/UndefinedVar/",
      "",
      " - JSONArgsRecommended: what (line 7)",
      "JSONArgsRecommended detail",
      "More info: https://docs.docker.com/go/dockerfile/rule/JSONArgsRecommended/",
      "",
    ].join("\n"),
  );
});
