import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { parseChmod } from "../../../../src/dockerfile/plan/chmod.ts";
import {
  formatGoDuration,
  goQuote,
  goQuoteList,
  parseGoDuration,
} from "../../../../src/dockerfile/plan/go-format.ts";
import { familiarName, formatImageRef, parseImageRef } from "../../../../src/dockerfile/plan/image-ref.ts";
import { formatPlan } from "../../../../src/dockerfile/plan/index.ts";
import { escapesRoot, resolveDest, resolveWorkdir } from "../../../../src/dockerfile/plan/paths.ts";
import { parsePortSpec } from "../../../../src/dockerfile/plan/ports.ts";
import { isValidSignal } from "../../../../src/dockerfile/plan/signals.ts";
import { amd64, arm64, plan } from "./helpers.ts";

describe("Go formatting as BuildKit's history uses it", () => {
  it("durations", () => {
    const cases: [string, number, string][] = [
      ["0", 0, "0s"],
      ["30s", 30e9, "30s"],
      ["5m", 300e9, "5m0s"],
      ["1h", 3600e9, "1h0m0s"],
      ["1.5s", 1.5e9, "1.5s"],
      ["1m30.25s", 90.25e9, "1m30.25s"],
      ["500ms", 500e6, "500ms"],
      ["1500us", 1.5e6, "1.5ms"],
      ["2µs", 2000, "2µs"],
      ["10ns", 10, "10ns"],
    ];
    for (const [text, ns, formatted] of cases) {
      assert.equal(parseGoDuration(text), ns, text);
      assert.equal(formatGoDuration(ns), formatted, text);
    }
    for (const bad of ["", "5", "1x", "s", "1.s.", "--1s"])
      assert.equal(parseGoDuration(bad), undefined, bad);
  });

  it("quoted strings", () => {
    assert.equal(goQuote('a "b" \\ c'), '"a \\"b\\" \\\\ c"');
    assert.equal(goQuote("tab\there\nnl\x01"), '"tab\\there\\nnl\\x01"');
    assert.equal(goQuote("é😀"), '"é😀"');
    assert.equal(goQuoteList(["/bin/sh", "-c", "echo hi"]), '["/bin/sh" "-c" "echo hi"]');
  });
});

describe("small parsers", () => {
  it("image references", () => {
    const r = parseImageRef("alpine");
    assert.ok(r.ok);
    assert.equal(formatImageRef(r.ref), "docker.io/library/alpine:latest");
    const full = parseImageRef("localhost:5000/team/app:1.2@sha256:" + "a".repeat(64));
    assert.ok(full.ok);
    assert.equal(full.ref.domain, "localhost:5000");
    assert.equal(familiarName(full.ref), `localhost:5000/team/app:1.2@sha256:${"a".repeat(64)}`);
    const hub = parseImageRef("docker.io/library/nginx:latest");
    assert.ok(hub.ok && familiarName(hub.ref) === "nginx");
    const upper = parseImageRef("Alpine");
    assert.ok(!upper.ok && /must be lowercase/.test(upper.reason));
    assert.ok(!parseImageRef("a:b:c").ok);
    assert.ok(!parseImageRef("").ok);
  });

  it("ports, paths, signals and modes", () => {
    assert.deepEqual(parsePortSpec("8080"), { ports: ["8080/tcp"] });
    assert.deepEqual(parsePortSpec("127.0.0.1:80:8080/udp"), { ports: ["8080/udp"] });
    assert.deepEqual(parsePortSpec("7-8/sctp"), { ports: ["7/tcp".replace("tcp", "sctp"), "8/sctp"] });
    assert.ok("error" in parsePortSpec("70000"));
    assert.equal(resolveWorkdir("/a", "../b/./c/"), "/b/c");
    assert.equal(resolveDest("/app", "."), "/app/");
    assert.equal(resolveDest("/app", "x/"), "/app/x/");
    assert.equal(resolveDest("/app", "/abs"), "/abs");
    assert.equal(resolveDest("/", "./"), "/");
    assert.ok(escapesRoot("../x") && escapesRoot("a/../../x") && !escapesRoot("a/../x"));
    assert.ok(
      isValidSignal("SIGTERM") && isValidSignal("kill") && isValidSignal("9") && isValidSignal("SIGRTMIN+3"),
    );
    assert.ok(!isValidSignal("0") && !isValidSignal("SIGFOO") && !isValidSignal("RTMAX-15"));
    assert.deepEqual(parseChmod("755"), { mode: 0o755 });
    assert.deepEqual(parseChmod("a=rX,u+w"), { mode: "a=rX,u+w" });
    assert.ok("error" in parseChmod("17777"));
  });
});

describe("formatPlan (build --print-graph)", () => {
  it("shows the vertices, one output per platform and what they share", async () => {
    const p = await plan(
      ["FROM --platform=$BUILDPLATFORM alpine AS b", "RUN make", "FROM alpine", "COPY --from=b /out /"],
      { platforms: [amd64, arm64] },
    );
    const text = formatPlan(p);
    assert.match(text, /output linux\/amd64: [0-9a-f]{12}\noutput linux\/arm64: [0-9a-f]{12}/);
    assert.match(text, /target: stage-1 \(stages used: linux\/amd64=b,stage-1 linux\/arm64=b,stage-1\)/);
    assert.match(text, /5 unique vertices for 2 platforms \(7 if built separately\)/);
  });
});
