// Git URLs as BuildKit v0.24 reads them: `#REF[:SUBDIR]`, the query form, and a KEY=VALUE fragment (the form
// some other tools use, which BuildKit would take for a ref name) refused with the query to write instead.
import assert from "node:assert/strict";
import { test } from "node:test";
import { isUserError } from "../../../src/errors/user-error.ts";
import { parseGitUrl } from "../../../src/graph/git-url.ts";

test("#REF:SUBDIR and the query form give the same ref and subdir", () => {
  const a = parseGitUrl("https://example.com/repo.git#v1:docs");
  const b = parseGitUrl("https://example.com/repo.git?ref=v1&subdir=docs");
  assert.deepEqual([a?.ref, a?.subdir], ["v1", "docs"]);
  assert.deepEqual([b?.ref, b?.subdir], ["v1", "docs"]);
});

test("a #KEY=VALUE,… fragment is a clear error that gives the query form", () => {
  for (const fragment of ["ref=main,subdir=docs", "branch=main", "subdir=x,tag=v1"]) {
    assert.throws(
      () => parseGitUrl(`https://user:secret@example.com/repo.git#${fragment}`),
      (e: unknown) => {
        assert.ok(isUserError(e));
        assert.match(e.message, /a fragment is #REF\[:SUBDIR\], not KEY=VALUE pairs/);
        assert.match(e.hint ?? "", /\?[a-z-]+=/);
        assert.doesNotMatch(`${e.message} ${e.hint}`, /secret/);
        return true;
      },
    );
  }
  // A ref whose name merely holds a `=` further on is still a ref.
  assert.equal(parseGitUrl("https://example.com/repo.git#feature/a=b")?.ref, "feature/a=b");
});
