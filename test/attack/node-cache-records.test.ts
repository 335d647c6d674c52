// A compromised node answers a farm build's --cache-to with records of its own making: one naming a blob
// that is not in its result (a file of the client's store, say), or a diff_id its layer does not have.
// The client refuses them, so its cache export can carry only the layers the node sent and were verified.
import assert from "node:assert/strict";
import { parseNodeCacheEntries, parseNodeCacheImports } from "../../src/api/builders/wire-values.ts";
import type { Digest } from "../../src/oci/digest.ts";
import type { SolvedPlatform } from "../../src/solver/types.ts";
import { attack } from "./support/attack.ts";

const d = (c: string) => `sha256:${c.repeat(64)}` as Digest;
const layer = {
  descriptor: { mediaType: "application/vnd.oci.image.layer.v1.tar+gzip", digest: d("a"), size: 10 },
  diffId: d("b"),
};
const result: SolvedPlatform = {
  platform: { os: "linux", architecture: "arm64" },
  baseLayers: [],
  layers: [{ layer, created: undefined }],
};

attack("a node's cache records name only its result's layers, with their own diff_ids", async () => {
  // What a node sends for its result: kept, with the result's own descriptor (not the node's copy).
  const ok = parseNodeCacheEntries(
    [
      {
        key: d("c"),
        record: { empty: false, descriptor: { ...layer.descriptor, size: 999 }, diffId: layer.diffId },
      },
      { key: d("e"), record: { empty: true } },
    ],
    result,
  );
  assert.equal(ok.length, 2);
  assert.deepEqual(ok[0]!.record, { empty: false, descriptor: layer.descriptor, diffId: layer.diffId });
  for (const bad of [
    // A blob the result does not have.
    { key: d("c"), record: { empty: false, descriptor: { digest: d("f"), size: 1 }, diffId: layer.diffId } },
    // The result's blob with another diff_id.
    { key: d("c"), record: { empty: false, descriptor: layer.descriptor, diffId: d("9") } },
    // A key that is not a digest.
    { key: "../../x", record: { empty: true } },
  ]) {
    assert.throws(() => parseNodeCacheEntries([bad], result), /the other side of the build channel sent/);
  }
  assert.throws(() => parseNodeCacheEntries({ length: 1 }, result), /not a list/);
});

attack(
  "a client cannot make a node read a cache directory of the node (type=local --cache-from)",
  async () => {
    assert.deepEqual(parseNodeCacheImports([{ type: "registry", attrs: { ref: "r.example/c:1" } }]), [
      { type: "registry", attrs: { ref: "r.example/c:1" } },
    ]);
    for (const bad of [
      { type: "local", attrs: { src: "/etc" } },
      { type: "registry", attrs: { ref: 1 } },
      { type: "gha", attrs: {} },
    ]) {
      assert.throws(() => parseNodeCacheImports([bad]), /the other side of the build channel sent/);
    }
  },
);
