import assert from "node:assert/strict";
import { test } from "node:test";
import { fileNameFromUrl, isBaseName } from "../../../src/graph/http-filename.ts";
import { validateVertex } from "../../../src/graph/validate.ts";

test("a download's name is the last segment of the decoded URL path, never a path", () => {
  assert.equal(fileNameFromUrl("https://example.com/dl/app-1.2.tar.gz?x=1#f"), "app-1.2.tar.gz");
  assert.equal(fileNameFromUrl("https://example.com/dl/my%20app.txt"), "my app.txt");
  assert.equal(fileNameFromUrl("http://h/x/..%2F..%2F..%2Ftmp%2Fpwned"), "pwned");
  assert.equal(fileNameFromUrl("http://h/x/%2e%2e%2F%2e%2e%2Fetc%2Fcron.d%2Fjob"), "job");
  assert.equal(fileNameFromUrl("http://h/x/..\\..\\tmp\\pwned"), "pwned");
  for (const url of [
    "http://h/",
    "http://h/dir/",
    "http://h/x/%2e%2e",
    "http://h/a%2F",
    "http://h/%E0%A4%A",
    "http://h/a%00b",
  ])
    assert.equal(fileNameFromUrl(url), "__unnamed__", url);
});

test("a graph whose http source names a path instead of a file is refused", () => {
  assert.ok(isBaseName("app.tar.gz"));
  for (const bad of ["", ".", "..", "../x", "a/b", "/etc/passwd", "a\0b"]) {
    assert.ok(!isBaseName(bad), bad);
    assert.throws(
      () =>
        validateVertex(
          { inputs: [], op: { kind: "source", source: { type: "http", url: "http://h/x", filename: bad } } },
          "vertex",
        ),
      /filename .* is not a plain file name/,
    );
  }
});
