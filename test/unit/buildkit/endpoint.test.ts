import assert from "node:assert/strict";
import { test } from "node:test";
import {
  channelFor,
  endpointFromDriverOpts,
  formatBuildKitAddress,
  parseBuildKitAddress,
} from "../../../src/buildkit/endpoint.ts";
import { UserError } from "../../../src/errors/user-error.ts";

test("buildx's remote endpoints parse and print back the same", () => {
  for (const a of [
    "unix:///run/buildkit/buildkitd.sock",
    "tcp://127.0.0.1:1234",
    "tcp://bk.example:443",
    "tcp://[::1]:1234",
  ])
    assert.equal(formatBuildKitAddress(parseBuildKitAddress(a)), a);
  assert.deepEqual(parseBuildKitAddress("tcp://host:80/"), { kind: "tcp", host: "host", port: 80 });
});

test("a malformed endpoint is a UserError that names it and says the two forms", () => {
  for (const bad of [
    "http://h:1",
    "tcp://h",
    "tcp://h:0",
    "tcp://h:70000",
    "tcp://u@h:1",
    "unix://rel.sock",
    "h:1",
  ]) {
    assert.throws(
      () => parseBuildKitAddress(bad),
      (e: unknown) => e instanceof UserError && e.message.includes(bad) && !e.message.includes("\n"),
      bad,
    );
  }
});

test("driver options are buildx's four; TLS needs tcp and cert with key", () => {
  assert.deepEqual(endpointFromDriverOpts("tcp://h:1", { cacert: "/ca", servername: "bk" }), {
    address: "tcp://h:1",
    cacert: "/ca",
    servername: "bk",
  });
  assert.throws(
    () => endpointFromDriverOpts("tcp://h:1", { tlscacert: "/ca" }),
    /unknown driver option tlscacert/,
  );
  assert.throws(() => channelFor({ address: "tcp://h:1", cert: "/c" }), /cert= and key= go together/);
  assert.throws(
    () => channelFor({ address: "tcp://h:1", cacert: "/nonexistent/ca.pem" }),
    /cannot read the CA certificate/,
  );
});
