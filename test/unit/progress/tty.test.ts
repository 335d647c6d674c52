import assert from "node:assert/strict";
import { test } from "node:test";
import type { ProgressEvent } from "../../../src/progress/events.ts";
import { createProgress } from "../../../src/progress/index.ts";
import type { ProgressOptions } from "../../../src/progress/options.ts";
import { textWidth } from "../../../src/progress/text-width.ts";
import { FakeClock, FakeTerminal, strip, utf8 } from "./fake-terminal.ts";

function live(terminal: { columns?: number; rows?: number } = {}, options: ProgressOptions = {}) {
  const out = new FakeTerminal({ isTTY: true, columns: 72, rows: 40, ...terminal });
  const clock = new FakeClock();
  const progress = createProgress("tty", out, { clock: clock.read, autoRefresh: false, env: {}, ...options });
  const emit = (e: ProgressEvent) => {
    clock.now = e.at;
    progress.emit(e);
  };
  return { out, clock, progress, emit };
}

/** A step's line as drawn 72 columns wide: the timer ends one column short of the edge. */
const row = (left: string, timer: string) => left.padEnd(71 - timer.length) + timer;

/** Each redraw is one write; its visible lines. */
const frameLines = (write: string) => strip(write).split("\n").slice(0, -1);

const done: ProgressEvent = {
  type: "build.done",
  durationMs: 2500,
  at: 2500,
  platforms: [
    { platform: "linux/amd64", durationMs: 900, steps: 3, cached: 1, emulatedMs: 0 },
    { platform: "linux/arm64", durationMs: 2400, steps: 3, cached: 1, emulatedMs: 2000 },
  ],
};

test("the live view redraws in place: header, steps with timers, the running step's last lines", async () => {
  const { out, progress, emit } = live();
  emit({ type: "build.start", total: 3, at: 0 });
  emit({ type: "vertex.cached", id: "a", name: "[linux/arm64 1/2] FROM docker.io/library/busybox", at: 0 });
  emit({ type: "vertex.start", id: "b", name: "[linux/arm64 2/2] RUN make", emulated: true, at: 100 });
  for (let i = 1; i <= 10; i++)
    emit({ type: "vertex.log", id: "b", stream: "stdout", data: utf8(`step ${i}\n`), at: 150 });
  emit({ type: "vertex.status", id: "b", statusId: "x", name: "compiling", at: 1300 });

  const frame = frameLines(out.writes.at(-1)!);
  assert.deepEqual(frame, [
    "[+] Building 1.3s (1/3)",
    row(" => CACHED [linux/arm64 1/2] FROM docker.io/library/busybox", "0.0s"),
    row(" => [linux/arm64 2/2] RUN make (emulated)", "1.2s"),
    row(" => => compiling", "0.0s"),
    " => => # step 5",
    " => => # step 6",
    " => => # step 7",
    " => => # step 8",
    " => => # step 9",
    " => => # step 10",
  ]);
  const raw = out.writes.at(-1)!;
  // Moves back over the previous frame, clears each line's rest and whatever is left below.
  assert.match(raw, /^\x1b\[\d+A\r/);
  assert.ok(raw.includes("\x1b[K\n"));
  assert.ok(raw.endsWith("\x1b[J"));
  // Finished steps are coloured (blue), log lines dimmed.
  assert.ok(raw.includes("\x1b[34m => CACHED"));
  assert.ok(raw.includes("\x1b[2m => => # step 10"));

  emit({ type: "vertex.done", id: "b", durationMs: 2300, at: 2400 });
  emit(done);
  await progress.close();
  const final = out.writes.at(-1)!;
  const lines = strip(final).split("\n");
  assert.deepEqual(lines.slice(0, 4), [
    "[+] Building 2.5s (2/3) FINISHED",
    row(" => CACHED [linux/arm64 1/2] FROM docker.io/library/busybox", "0.0s"),
    row(" => [linux/arm64 2/2] RUN make (emulated)", "2.3s"),
    row(" => => compiling", "1.1s"),
  ]);
  assert.ok(!final.includes("# step"), "a finished step's output is no longer shown");
  assert.deepEqual(lines.slice(4), [
    "linux/amd64  3 steps (1 cached)  0.9s",
    "linux/arm64  3 steps (1 cached)  2.4s (2.0s emulated)",
    "",
  ]);
});

test("redraws are throttled to one per refresh interval", () => {
  const { out, emit } = live({}, { refreshMs: 100 });
  emit({ type: "vertex.start", id: "a", name: "[1/1] RUN chatty", at: 0 });
  for (let t = 1; t < 100; t++)
    emit({ type: "vertex.log", id: "a", stream: "stdout", data: utf8(`${t}\n`), at: t });
  assert.equal(out.writes.length, 1);
  emit({ type: "vertex.log", id: "a", stream: "stdout", data: utf8("last\n"), at: 100 });
  assert.equal(out.writes.length, 2);
  assert.ok(strip(out.writes[1]!).includes("# last"));
});

test("lines are cut to the terminal's width, keeping the timer and the emulation marker", async () => {
  const { out, progress, emit } = live({ columns: 40 });
  emit({
    type: "vertex.start",
    id: "a",
    name: "[linux/arm/v7 builder 3/5] RUN apk add --no-cache build-base git",
    emulated: true,
    at: 0,
  });
  emit({ type: "vertex.log", id: "a", stream: "stdout", data: utf8(`${"fetch ".repeat(20)}\n`), at: 10 });
  emit({ type: "vertex.log", id: "a", stream: "stdout", data: utf8(`${"界".repeat(30)}\n`), at: 10 });
  emit({
    type: "vertex.status",
    id: "a",
    statusId: "s",
    name: "sha256:".padEnd(71, "f"),
    current: 5e6,
    total: 4e7,
    at: 400,
  });
  const frame = frameLines(out.writes.at(-1)!);
  for (const line of frame) assert.ok(textWidth(line) <= 39, `too wide (${textWidth(line)}): ${line}`);
  assert.equal(frame[1], " => [linux/arm/v7 buil… (emulated) 0.4s");
  assert.match(frame[2]!, /^ => => sha256:f+… 0\.0s$/);
  assert.match(frame[3]!, /^ => => # fetch fetch .*…$/);
  assert.match(frame[4]!, /^ => => # 界+…$/);
  await progress.close();
});

test("a live frame fits the terminal's height, dropping finished steps first; the final frame has all", async () => {
  const { out, progress, emit } = live({ rows: 8 });
  for (let i = 1; i <= 8; i++) {
    emit({ type: "vertex.start", id: `s${i}`, name: `[${i}/9] COPY f${i} /`, at: i });
    emit({ type: "vertex.done", id: `s${i}`, durationMs: 1, at: i });
  }
  emit({ type: "vertex.start", id: "run", name: "[9/9] RUN make", at: 500 });
  emit({ type: "vertex.log", id: "run", stream: "stdout", data: utf8("a\nb\n"), at: 600 });
  const frame = frameLines(out.writes.at(-1)!);
  assert.ok(frame.length <= 7, `${frame.length} lines on an 8-row screen`);
  assert.equal(frame[0], "[+] Building 0.6s (8/9)");
  assert.deepEqual(
    frame.slice(-3).map((l) => l.trimEnd()),
    [row(" => [9/9] RUN make", "0.1s"), " => => # a", " => => # b"],
  );
  assert.ok(!frame.some((l) => l.includes("[1/9]")));
  emit({ type: "vertex.done", id: "run", durationMs: 100, at: 600 });
  await progress.close();
  const final = frameLines(out.writes.at(-1)!);
  assert.equal(final.length, 10);
  assert.ok(final[1]!.includes("[1/9] COPY f1 /"));
});

test("a failed step is shown as ERROR and its last output is printed after the final frame", async () => {
  const { out, progress, emit } = live();
  emit({ type: "vertex.start", id: "a", name: "[2/2] RUN make", at: 0 });
  emit({ type: "vertex.log", id: "a", stream: "stderr", data: utf8("make: *** [all] Error 1\n"), at: 250 });
  emit({ type: "vertex.done", id: "a", durationMs: 300, error: "exit code: 2", at: 300 });
  emit({
    type: "warning",
    message: "UndefinedVar: $FOO",
    location: { file: "Dockerfile", line: 3 },
    at: 300,
  });
  emit({ type: "build.done", durationMs: 300, platforms: [], error: "failed to solve", at: 300 });
  await progress.close();
  const final = out.writes.at(-1)!;
  assert.ok(final.includes("\x1b[31m => ERROR [2/2] RUN make"));
  assert.deepEqual(strip(final).split("\n"), [
    "[+] Building 0.3s (1/1)",
    row(" => ERROR [2/2] RUN make", "0.3s"),
    "------",
    " > [2/2] RUN make:",
    "0.250 make: *** [all] Error 1",
    "------",
    "",
    " 1 warning found (use --debug to expand):",
    " - UndefinedVar: $FOO (line 3)",
    "",
  ]);
});

test("NO_COLOR turns colours off but the view still redraws in place", async () => {
  const { out, progress, emit } = live({}, { env: { NO_COLOR: "1" } });
  emit({ type: "vertex.cached", id: "a", name: "[1/2] FROM x", at: 0 });
  emit({ type: "vertex.start", id: "b", name: "[2/2] RUN y", at: 200 });
  await progress.close();
  assert.ok(!/\x1b\[\d*m/.test(out.text), JSON.stringify(out.text));
  assert.match(out.text, /\x1b\[\d+A/);
});

test("running steps' output is redacted and stripped of escape sequences before it is drawn", async () => {
  const { out, progress, emit } = live({}, { redact: ["s3cret"] });
  emit({ type: "vertex.start", id: "a", name: "[1/1] RUN x", at: 0 });
  emit({ type: "vertex.log", id: "a", stream: "stdout", data: utf8("\x1b[31mred\x1b[0m s3c"), at: 100 });
  emit({ type: "vertex.log", id: "a", stream: "stdout", data: utf8("ret\ttab\n"), at: 200 });
  assert.ok(out.writes.at(-1)!.includes(" => => # red ***  tab"));
  await progress.close();
  assert.ok(!out.text.includes("s3cret"));
});

test("tty on something that is not a terminal, or TERM=dumb, falls back to plain output; auto picks by terminal", async () => {
  const step: ProgressEvent[] = [
    { type: "vertex.start", id: "a", name: "[1/1] RUN true", at: 0 },
    { type: "vertex.done", id: "a", durationMs: 100, at: 100 },
  ];
  const cases: [mode: "tty" | "auto", out: FakeTerminal, env: Record<string, string>, plain: boolean][] = [
    ["tty", new FakeTerminal({ isTTY: false }), {}, true],
    ["tty", new FakeTerminal({ isTTY: true }), { TERM: "dumb" }, true],
    ["auto", new FakeTerminal({ isTTY: false }), {}, true],
    ["auto", new FakeTerminal({ isTTY: true, columns: 80 }), {}, false],
  ];
  for (const [mode, out, env, plain] of cases) {
    const progress = createProgress(mode, out, { clock: () => 0, env, autoRefresh: false });
    for (const e of step) progress.emit(e);
    await progress.close();
    if (plain) assert.equal(out.text, "#1 [1/1] RUN true\n#1 DONE 0.1s\n", `${mode} ${JSON.stringify(env)}`);
    else assert.match(strip(out.text), /\[\+\] Building/);
  }
});

test("an unknown mode is a user error naming the valid ones", () => {
  assert.throws(
    () => createProgress("fancy" as never, new FakeTerminal()),
    (e: Error & { hint?: string }) =>
      e.name === "UserError" && /auto, plain, tty, rawjson, quiet/.test(e.hint ?? ""),
  );
});

test("a build that ends before any event leaves nothing on the terminal", async () => {
  const { out, progress } = live();
  await progress.close();
  assert.equal(out.text, "");
});
