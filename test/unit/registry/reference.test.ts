import assert from "node:assert/strict";
import { test } from "node:test";
import { formatReference, isLoopbackRegistry, parseReference } from "../../../src/registry/reference.ts";

test("normalises references as Docker does", () => {
  const cases: [string, string][] = [
    ["alpine", "docker.io/library/alpine:latest"],
    ["alpine:3.20", "docker.io/library/alpine:3.20"],
    ["user/app", "docker.io/user/app:latest"],
    ["index.docker.io/library/alpine", "docker.io/library/alpine:latest"],
    ["localhost/app", "localhost/app:latest"],
    ["localhost:5000/team/app:1", "localhost:5000/team/app:1"],
    ["127.0.0.1:5000/library/busybox", "127.0.0.1:5000/library/busybox:latest"],
    ["ghcr.io/o/r/deep/name:v1.2-rc_3", "ghcr.io/o/r/deep/name:v1.2-rc_3"],
    ["[::1]:5000/app:x", "[::1]:5000/app:x"],
  ];
  for (const [input, want] of cases) assert.equal(formatReference(parseReference(input)), want, input);
});

test("tag and digest together, and digest alone (no implicit latest)", () => {
  const digest = `sha256:${"b".repeat(64)}`;
  const both = parseReference(`reg.example/app:1@${digest}`);
  assert.equal(both.tag, "1");
  assert.equal(both.digest, digest);
  const only = parseReference(`reg.example/app@${digest}`);
  assert.equal(only.tag, undefined);
  assert.equal(formatReference(only), `reg.example/app@${digest}`);
});

test("malformed references are one-line errors with a hint", () => {
  const bad = [
    "",
    "upper/Case",
    "http://reg/app",
    "app:",
    "app:-bad",
    "a//b",
    "app@sha256:abc",
    "reg.example/App:1",
    "app name",
  ];
  for (const b of bad) {
    assert.throws(
      () => parseReference(b),
      (e: Error & { hint?: string }) =>
        e.message.startsWith("invalid image reference") && !e.message.includes("\n") && Boolean(e.hint),
      JSON.stringify(b),
    );
  }
});

test("loopback registries are recognised", () => {
  for (const h of ["localhost:5000", "127.0.0.1:1234", "[::1]:5000", "registry.localhost"])
    assert.ok(isLoopbackRegistry(h), h);
  for (const h of ["reg.example:5000", "10.0.0.1:5000", "docker.io"]) assert.ok(!isLoopbackRegistry(h), h);
});
