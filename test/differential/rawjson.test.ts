/**
 * Differential: `--progress=rawjson` against `buildctl build --progress=rawjson`. Tools written for buildx's
 * rawjson read BuildKit's SolveStatus lines; ours must have the same record kinds, keys and JSON types, and
 * what such a consumer relies on must hold: a vertex keeps its digest on every line, is completed once, and
 * every status, log and warning points at a vertex it was told about.
 */
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import type { Observed } from "../harness/buildkit.ts";
import {
  logsByVertex,
  type SolveStatus,
  solveStatuses,
  vertexRecords,
  warningShorts,
} from "../support/solve-status.ts";
import { Differential } from "./support.ts";

let d: Differential;
before(async () => {
  d = await Differential.start();
});
after(() => d?.[Symbol.asyncDispose]());

const rawjson = {
  output: "local" as const,
  buildkitArgs: ["--progress=rawjson"],
  polyarchArgs: ["--progress=rawjson"],
};

/** Every JSON path of the records (`vertexes[].started`, `warnings[].range[].start.line`) with its JSON type. */
function shapes(lines: SolveStatus[]): Map<string, Set<string>> {
  const out = new Map<string, Set<string>>();
  const add = (path: string, type: string) => {
    if (!out.has(path)) out.set(path, new Set());
    out.get(path)!.add(type);
  };
  const walk = (path: string, value: unknown) => {
    if (Array.isArray(value)) {
      add(path, "array");
      for (const item of value) walk(`${path}[]`, item);
    } else if (value !== null && typeof value === "object") {
      add(path, "object");
      for (const [k, v] of Object.entries(value)) walk(`${path}.${k}`, v);
    } else add(path, value === null ? "null" : typeof value);
  };
  for (const line of lines) for (const [kind, records] of Object.entries(line)) walk(kind, records);
  return out;
}

/** Paths present in every record of their kind (Go's omitempty leaves the others out now and then). */
function alwaysPresent(lines: SolveStatus[]): Set<string> {
  const out = new Set<string>();
  const kinds = ["vertexes", "statuses", "logs", "warnings"] as const;
  for (const kind of kinds) {
    const records = lines.flatMap((l) => (l[kind] ?? []) as object[]);
    if (records.length === 0) continue;
    for (const key of Object.keys(records[0]!))
      if (records.every((r) => key in r)) out.add(`${kind}[].${key}`);
  }
  return out;
}

function assertSameShape(ours: SolveStatus[], theirs: SolveStatus[], allowedMissing: readonly string[]) {
  const o = shapes(ours);
  const t = shapes(theirs);
  for (const [path, types] of o) {
    assert.ok(t.has(path), `BuildKit's rawjson has no ${path}`);
    assert.deepEqual(
      [...types],
      [...t.get(path)!].filter((x) => types.has(x)),
      `${path}: ${[...types]} vs ${[...t.get(path)!]}`,
    );
  }
  for (const kind of ["vertexes", "statuses", "logs", "warnings"])
    assert.ok(o.has(kind) === t.has(kind), `${kind}: polyarch ${o.has(kind)}, BuildKit ${t.has(kind)}`);
  const ourRecords = alwaysPresent(ours);
  for (const path of alwaysPresent(theirs)) {
    if (allowedMissing.includes(path)) continue;
    const kind = path.slice(0, path.indexOf("["));
    if (o.has(kind))
      assert.ok(ourRecords.has(path), `every BuildKit record has ${path}; not every one of ours`);
  }
}

/** What a buildx-style consumer relies on. */
function assertConsumable(lines: SolveStatus[]) {
  const vertexes = vertexRecords(lines);
  const known = new Set(vertexes.map((v) => v.digest));
  for (const digest of known) assert.match(digest, /^sha256:[a-f0-9]{64}$/);
  // One digest per vertex name, on every line.
  const byName = new Map<string, Set<string>>();
  for (const v of vertexes) if (v.name) byName.set(v.name, (byName.get(v.name) ?? new Set()).add(v.digest));
  for (const [name, digests] of byName) assert.equal(digests.size, 1, `${name}: ${[...digests]}`);
  // Completed once, never before it started.
  for (const digest of known) {
    const done = vertexes.filter((v) => v.digest === digest && v.completed);
    assert.ok(done.length <= 1, `${digest} completed ${done.length} times`);
    for (const v of done) assert.ok(v.started && v.started <= v.completed!, JSON.stringify(v));
  }
  // A vertex's inputs are vertices the reader was told about (BuildKit's graph edges).
  for (const v of vertexes) for (const i of v.inputs ?? []) assert.ok(known.has(i), JSON.stringify(v));
  for (const s of lines.flatMap((l) => l.statuses ?? [])) assert.ok(known.has(s.vertex!), JSON.stringify(s));
  for (const l of lines.flatMap((x) => x.logs ?? [])) assert.ok(known.has(l.vertex!), JSON.stringify(l));
  for (const w of lines.flatMap((x) => x.warnings ?? []))
    assert.ok(w.vertex === undefined || known.has(w.vertex), JSON.stringify(w));
}

const ok = (o: Observed) => assert.ok(o.ok, o.output);

test("rawjson: a RUN, a COPY, lint warnings and a cached rebuild in BuildKit's SolveStatus shape", async () => {
  const ctx = await d.context({
    Dockerfile: `FROM ${d.base}\nCOPY a /a\nRUN echo out && echo err >&2\nRUN cat /a\ncmd echo x\n`,
    a: "from-a\n",
  });
  const [bk, bkCached] = [await d.buildkit.build(ctx, rawjson), await d.buildkit.build(ctx, rawjson)];
  const [ours, oursCached] = [await d.polyarch(ctx, rawjson), await d.polyarch(ctx, rawjson)];
  for (const o of [bk, bkCached, ours, oursCached]) ok(o);
  const theirs = [...solveStatuses(bk.output), ...solveStatuses(bkCached.output)];
  const [first, second] = [solveStatuses(ours.output), solveStatuses(oursCached.output)];
  // Every line is JSON: nothing else is printed in this mode.
  for (const text of [ours.output, oursCached.output])
    for (const line of text.trimEnd().split("\n")) assert.doesNotThrow(() => JSON.parse(line), line);

  // polyarch reads the Dockerfile outside any step, so its warnings name no vertex (the field is optional).
  assertSameShape([...first, ...second], theirs, ["warnings[].vertex"]);
  assertConsumable(first);
  assertConsumable(second);

  // The RUN's output comes back byte for byte, each stream as BuildKit numbers it.
  const run = vertexRecords(first).find((v) => v.name?.includes("RUN echo out"))!;
  assert.ok(run, JSON.stringify(vertexRecords(first)));
  const logs = first.flatMap((l) => l.logs ?? []).filter((l) => l.vertex === run.digest);
  const stream = (n: number) =>
    logs
      .filter((l) => l.stream === n)
      .map((l) => Buffer.from(l.data, "base64").toString())
      .join("");
  // The RUN lists what it runs on, as BuildKit's does: the COPY before it; the COPY lists the FROM and the context.
  const named = (lines: SolveStatus[], text: string) =>
    vertexRecords(lines).find((v) => v.name?.includes(text));
  const inputNames = (lines: SolveStatus[], text: string) =>
    [
      ...new Set(
        vertexRecords(lines)
          .filter((v) => v.name?.includes(text))
          .flatMap((v) => v.inputs ?? []),
      ),
    ]
      .map((i) =>
        vertexRecords(lines)
          .find((v) => v.digest === i && v.name)
          ?.name?.replace(/^\[[^\]]*\] /, ""),
      )
      .sort();
  const bkFirst = solveStatuses(bk.output);
  assert.ok(named(bkFirst, "RUN echo out")?.inputs?.length, "BuildKit's RUN has inputs");
  assert.deepEqual(inputNames(first, "RUN echo out"), inputNames(bkFirst, "RUN echo out"));
  assert.deepEqual(inputNames(first, "RUN echo out"), ["COPY a /a"]);
  assert.deepEqual(
    inputNames(first, "COPY a /a").map((n) => n?.replace(/@sha256:[a-f0-9]+$/, "")),
    inputNames(bkFirst, "COPY a /a").map((n) => n?.replace(/@sha256:[a-f0-9]+$/, "")),
  );
  assert.equal(stream(1), "out\n");
  assert.equal(stream(2), "err\n");
  assert.ok([...logsByVertex(first).values()].includes("from-a\n"));

  // The rebuild marks the COPY and RUNs cached, as BuildKit does.
  const cached = (lines: SolveStatus[]) =>
    [
      ...new Set(
        vertexRecords(lines)
          .filter((v) => v.cached)
          .map((v) => v.name!.replace(/^\[[^\]]*\] /, "")),
      ),
    ]
      .filter((n) => /^(COPY|RUN)/.test(n))
      .sort();
  assert.deepEqual(cached(second), cached(solveStatuses(bkCached.output)));
  assert.deepEqual(cached(second), ["COPY a /a", "RUN cat /a", "RUN echo out && echo err >&2"]);

  // The same lint warnings, in the same words.
  assert.deepEqual(warningShorts(first).sort(), warningShorts(solveStatuses(bk.output)).sort());
  assert.equal(warningShorts(first).length, 2);
});
