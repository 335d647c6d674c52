import assert from "node:assert/strict";
import { test } from "node:test";
import { digestOf } from "../../../src/oci/digest.ts";
import {
  parseAnyManifest,
  parseIndex,
  serializeIndex,
  serializeManifest,
} from "../../../src/oci/manifest.ts";
import { MediaType } from "../../../src/oci/media-types.ts";

const d = (s: string) => digestOf(s);

test("manifest round-trip keeps spec field order and is deterministic", () => {
  const m = {
    schemaVersion: 2 as const,
    mediaType: MediaType.ociManifest,
    config: { mediaType: MediaType.ociConfig, digest: d("c"), size: 1 },
    layers: [{ mediaType: MediaType.ociLayerGzip, digest: d("l"), size: 2 }],
    annotations: { b: "2", a: "1" },
  };
  const bytes = serializeManifest(m);
  assert.equal(bytes.toString().indexOf('"schemaVersion"'), 1);
  assert.ok(bytes.toString().indexOf('"a"') < bytes.toString().indexOf('"b"'));
  const back = parseAnyManifest(bytes, undefined, "test");
  assert.equal(back.kind, "manifest");
  assert.deepEqual(serializeManifest(back.kind === "manifest" ? back.manifest : m), bytes);
});

test("index entries keep normalised platforms", () => {
  const idx = {
    schemaVersion: 2 as const,
    mediaType: MediaType.dockerManifestList,
    manifests: [
      {
        mediaType: MediaType.dockerManifest,
        digest: d("x"),
        size: 3,
        platform: { os: "linux", architecture: "aarch64" },
      },
    ],
  };
  const parsed = parseIndex(serializeIndex(idx), "t");
  assert.equal(parsed.mediaType, MediaType.dockerManifestList);
  assert.deepEqual(parsed.manifests[0]?.platform, { os: "linux", architecture: "arm64" });
});

test("unknown and legacy media types are refused with a clear error", () => {
  assert.throws(
    () => parseAnyManifest('{"schemaVersion":2,"mediaType":"application/x-foo"}', undefined, "reg/app:1"),
    /reg\/app:1: unknown manifest media type "application\/x-foo"/,
  );
  assert.throws(() => parseAnyManifest('{"schemaVersion":1,"name":"x"}', undefined, "old"), /schema 1/);
  assert.throws(
    () => parseAnyManifest("not json", undefined, "bad"),
    /bad: invalid JSON at line 1, column 2/,
  );
  assert.throws(
    () =>
      parseAnyManifest(
        '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{},"layers":[]}',
        undefined,
        "m",
      ),
    /m config: descriptor has no mediaType/,
  );
});

test("a document without mediaType is classified by its shape", () => {
  const any = parseAnyManifest(JSON.stringify({ schemaVersion: 2, manifests: [] }), "application/json", "t");
  assert.equal(any.kind, "index");
});
