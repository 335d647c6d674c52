/**
 * A base image with hostile layers: the busybox fixture (linux/amd64) plus raw tars, pushed with skopeo to
 * a test registry, for `FROM` in an attack.
 */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Digest } from "../../../src/oci/digest.ts";
import { parsePlatform } from "../../../src/oci/platform.ts";
import { FixtureLayout } from "../../harness/fixture-layout.ts";
import { busyboxLayout, type PushTarget, skopeoPushLayout } from "../../harness/images.ts";
import { gzipLayer, type RawEntry, rawTar } from "./raw-tar.ts";

/** Pushes busybox plus one layer per entry list (in order, lowest first) as `name`; returns its ref. */
export async function pushHostileImage(
  target: PushTarget,
  name: string,
  layers: readonly (readonly RawEntry[])[],
): Promise<string> {
  const base = await busyboxLayout();
  const amd64 = base.manifests.find((m) => m.platform?.architecture === "amd64")!;
  const manifest = JSON.parse((await base.layout.readBlob(amd64.digest)).toString()) as {
    config: { digest: Digest };
    layers: { digest: Digest; size: number }[];
  };
  const config = JSON.parse((await base.layout.readBlob(manifest.config.digest)).toString()) as {
    rootfs: { diff_ids: Digest[] };
  };
  const dir = await mkdtemp(join(tmpdir(), "polyarch-hostile-layout-"));
  try {
    const layout = await new FixtureLayout(dir).init();
    const all = [];
    for (const [i, l] of manifest.layers.entries()) {
      await layout.linkBlobFrom(base.layout, l.digest);
      all.push({ digest: l.digest, size: l.size, diffId: config.rootfs.diff_ids[i]!, createdBy: "busybox" });
    }
    for (const entries of layers) {
      const layer = gzipLayer(rawTar(entries));
      await writeFile(layout.blobPath(layer.digest as Digest), layer.blob);
      all.push({
        digest: layer.digest as Digest,
        size: layer.size,
        diffId: layer.diffId as Digest,
        createdBy: "hostile layer",
      });
    }
    const { manifest: desc } = await layout.writeImage(parsePlatform("linux/amd64"), all);
    layout.tag("img", desc);
    await layout.finish();
    return (await skopeoPushLayout(dir, "img", target, name)).ref;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
