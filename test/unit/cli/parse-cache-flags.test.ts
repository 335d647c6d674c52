import assert from "node:assert/strict";
import { test } from "node:test";
import { parseCacheFrom, parseCacheTo } from "../../../src/cli/parse-cache-flags.ts";
import { UserError } from "../../../src/errors/user-error.ts";

test("--cache-from: the registered types with their attributes; a bare reference is type=registry", () => {
  assert.deepEqual(
    parseCacheFrom([
      "type=registry,ref=reg.example/app:cache",
      "type=local,src=dir,ignore-error=true",
      "reg.example/app:1",
    ]),
    [
      { type: "registry", attrs: { ref: "reg.example/app:cache" }, ignoreError: false },
      { type: "local", attrs: { src: "dir" }, ignoreError: true },
      { type: "registry", attrs: { ref: "reg.example/app:1" }, ignoreError: false },
    ],
  );
});

test("--cache-to: mode, buildx's attributes, inline", () => {
  assert.deepEqual(
    parseCacheTo([
      "type=registry,ref=reg.example/app:cache,mode=max,oci-mediatypes=true,image-manifest=false,compression=gzip",
      "type=local,dest=dir",
      "type=inline",
    ]),
    [
      {
        type: "registry",
        mode: "max",
        attrs: {
          ref: "reg.example/app:cache",
          "oci-mediatypes": "true",
          "image-manifest": "false",
          compression: "gzip",
        },
        ignoreError: false,
      },
      { type: "local", mode: "min", attrs: { dest: "dir" }, ignoreError: false },
      { type: "inline", mode: "min", attrs: {}, ignoreError: false },
    ],
  );
});

test("what a type does not take is refused by name, with what it does take", () => {
  const refused = (f: () => unknown, message: RegExp) =>
    assert.throws(f, (e: unknown) => e instanceof UserError && message.test(e.message));
  refused(() => parseCacheTo(["type=gha"]), /cache type "gha" is not supported/);
  refused(() => parseCacheFrom(["type=inline"]), /cache type "inline" is not supported/);
  refused(() => parseCacheTo(["type=inline,mode=max"]), /mode=max is not supported for type=inline/);
  refused(() => parseCacheTo(["type=registry"]), /type=registry needs ref=/);
  refused(() => parseCacheTo(["type=local,dest=d,colour=red"]), /no attribute "colour"/);
  refused(
    () => parseCacheTo(["type=registry,ref=r/a:c,compression=zstd"]),
    /compression=zstd is not supported/,
  );
  refused(() => parseCacheTo(["type=registry,ref=r/a:c,oci-mediatypes=false"]), /oci-mediatypes=false/);
  refused(() => parseCacheFrom(["type=registry,ref=r/a:c,mode=max"]), /mode is a --cache-to attribute/);
  refused(() => parseCacheTo([`type=registry,ref=r/a@sha256:${"a".repeat(64)}`]), /a cache ref is a tag/);
});

test("--cache-to cache-mounts=true|false, without it by default", () => {
  assert.deepEqual(parseCacheTo(["type=local,dest=/c,cache-mounts=true"]), [
    { type: "local", mode: "min", attrs: { dest: "/c" }, ignoreError: false, cacheMounts: true },
  ]);
  assert.equal(parseCacheTo(["type=registry,ref=r/a:c,cache-mounts=true"])[0]!.cacheMounts, true);
  assert.equal(parseCacheTo(["type=local,dest=/c,cache-mounts=false"])[0]!.cacheMounts, undefined);
  assert.equal(parseCacheTo(["type=local,dest=/c"])[0]!.cacheMounts, undefined);
  assert.throws(
    () => parseCacheTo(["type=local,dest=/c,cache-mounts=yes"]),
    /cache-mounts must be true or false/,
  );
});
