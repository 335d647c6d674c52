import assert from "node:assert/strict";
import { test } from "node:test";
import { parseBuilderRecord } from "../../../src/api/builders/builder-record.ts";
import { UserError } from "../../../src/errors/user-error.ts";

const node = (extra: Record<string, unknown>) => ({
  name: "b",
  nodes: [{ name: "bk", driver: "remote", endpoint: "tcp://h:1234", platforms: [], ...extra }],
});

test("a node's driver options are read back as stored", () => {
  const r = parseBuilderRecord(node({ driverOpts: { cacert: "/c/ca.pem", servername: "bk" } }), "f.json");
  assert.deepEqual(r.nodes[0]!.driverOpts, { cacert: "/c/ca.pem", servername: "bk" });
  assert.equal("driverOpts" in parseBuilderRecord(node({}), "f.json").nodes[0]!, false);
});

test("driver options edited by hand into something else are refused, naming the file and node", () => {
  for (const bad of [["/c/ca.pem"], "cacert=/c/ca.pem", { cacert: 1 }, null]) {
    assert.throws(
      () => parseBuilderRecord(node({ driverOpts: bad }), "f.json"),
      (e: unknown) =>
        e instanceof UserError &&
        /builder file f\.json is not valid: node bk has driver options/.test(e.message),
    );
  }
});
