import assert from "node:assert/strict";
import { mkdir, mkdtemp, realpath, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import {
  normalizeContextName,
  parseNamedContexts,
  splitOciLayoutValue,
} from "../../../../src/dockerfile/context/named-contexts.ts";
import { isUserError } from "../../../../src/errors/user-error.ts";

describe("--build-context", () => {
  let root: string;
  before(async () => {
    root = await realpath(await mkdtemp(join(tmpdir(), "polyarch-named-")));
    await mkdir(join(root, "shared"));
    await writeFile(join(root, "file.txt"), "x");
  });
  after(() => rm(root, { recursive: true, force: true }));

  test("a directory becomes a local context with an absolute path", async () => {
    assert.deepEqual(await parseNamedContexts(["src=shared"], root), [
      { name: "src", kind: "local", path: join(root, "shared") },
    ]);
  });

  test("docker-image:// becomes an image context", async () => {
    assert.deepEqual(await parseNamedContexts(["alpine=docker-image://busybox:1.36"], root), [
      { name: "alpine", kind: "image", ref: "busybox:1.36" },
    ]);
  });

  test("names are normalised like buildx: docker.io/library and :latest are dropped, tags kept", () => {
    assert.equal(normalizeContextName("alpine"), "alpine");
    assert.equal(normalizeContextName("docker.io/library/alpine:latest"), "alpine");
    assert.equal(normalizeContextName("index.docker.io/library/alpine"), "alpine");
    assert.equal(normalizeContextName("alpine:3.20"), "alpine:3.20");
    assert.equal(normalizeContextName("docker.io/myorg/app"), "myorg/app");
    assert.equal(normalizeContextName("localhost:5000/app:latest"), "localhost:5000/app");
  });

  test("a later value for the same name replaces the earlier one", async () => {
    const out = await parseNamedContexts(
      ["base=docker-image://a", "docker.io/library/base=docker-image://b"],
      root,
    );
    assert.deepEqual(out, [{ name: "base", kind: "image", ref: "b" }]);
  });

  async function errorOf(values: string[]): Promise<string> {
    try {
      await parseNamedContexts(values, root);
    } catch (e) {
      assert.ok(isUserError(e));
      return e.message;
    }
    assert.fail("expected an error");
  }

  test("oci-layout://PATH[:TAG][@DIGEST] is split as buildx splits it (tag latest when neither is given)", async () => {
    const digest = `sha256:${"a".repeat(64)}`;
    const path = join(root, "shared");
    const cases: [string, string | undefined, string | undefined][] = [
      ["oci-layout://shared", "latest", undefined],
      ["oci-layout://shared:v1", "v1", undefined],
      [`oci-layout://shared@${digest}`, undefined, digest],
      [`oci-layout://shared:v1@${digest}`, "v1", digest],
    ];
    for (const [value, tag, dig] of cases) {
      assert.deepEqual(await parseNamedContexts([`x=${value}`], root), [
        { name: "x", kind: "oci-layout", path, tag, digest: dig },
      ]);
    }
    assert.deepEqual(splitOciLayoutValue("oci-layout:///a:b/c"), {
      path: "/a:b/c",
      tag: "latest",
      digest: undefined,
    });
  });

  test("git URLs and http(s) URLs are remote contexts, fetched before planning", async () => {
    const parsed = await parseNamedContexts([
      "lib=https://example.com/lib.git#v1:src",
      "ssh=git@example.com:org/repo.git",
      "tar=https://example.com/ctx.tar.gz",
    ]);
    assert.deepEqual(
      parsed.map((c) => [c.name, c.kind]),
      [
        ["lib", "git"],
        ["ssh", "git"],
        ["tar", "url"],
      ],
    );
  });

  test("bad values are clear errors", async () => {
    assert.match(await errorOf(["novalue"]), /expected NAME=VALUE/);
    assert.match(await errorOf(["=shared"]), /expected NAME=VALUE/);
    assert.match(await errorOf(["Upper=shared"]), /invalid --build-context name "Upper"/);
    assert.match(await errorOf(["x=missing-dir"]), /does not exist/);
    assert.match(await errorOf(["x=file.txt"]), /is not a directory/);
    assert.match(
      await errorOf(["x=oci-layout://./layout"]),
      /OCI layout directory "\.\/layout" does not exist/,
    );
    assert.match(await errorOf(["x=oci-layout://file.txt"]), /is not a directory/);
    assert.match(await errorOf(["x=oci-layout://"]), /no layout directory/);
    assert.match(await errorOf(["x=ftp://example.com/src.tar.gz"]), /this kind of context/);
    assert.match(await errorOf(["x=target:other"]), /target: contexts/);
    assert.match(await errorOf(["x=docker-image://UPPER"]), /not an image reference/);
    assert.match(await errorOf(["x="]), /has no value/);
  });
});
