// Exporters are registered by type: a new output kind is an addition (registerExporter), resolved with
// every other output before anything is written, and given the same build result as the built-in ones.
import assert from "node:assert/strict";
import { mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import type { ContentStore } from "../../../src/content/index.ts";
import { UserError } from "../../../src/errors/user-error.ts";
import {
  type BuiltImage,
  type Exporter,
  type ExportSession,
  exportImages,
  type OutputSpec,
  parseOutputs,
  registerExporter,
} from "../../../src/exporter/index.ts";
import { sampleImages, tempStore } from "./fixture.ts";

let store: ContentStore;
let cleanup: () => Promise<void>;
let images: BuiltImage[];
let dir: string;

before(async () => {
  ({ store, cleanup } = await tempStore());
  images = await sampleImages(store, { newMtime: 1_700_000_000 });
  dir = await mkdtemp(join(tmpdir(), "polyarch-exporters-"));
});
after(async () => {
  await cleanup();
  await rm(dir, { recursive: true, force: true });
});

/** A kind of output polyarch does not ship: the image's digest and platforms written to a file. */
interface DigestFileOutput {
  type: "digest-file";
  dest: string;
  /** An attribute that resolve checks. */
  format: string;
}

const digestFile = {
  types: ["digest-file"],
  reads: "image",
  resolve(output: DigestFileOutput) {
    if (output.format !== "text") throw new UserError(`digest-file: unknown format ${output.format}`);
    return {
      async export(session: ExportSession) {
        const assembly = await session.assembled({
          ociMediaTypes: true,
          forceCompression: false,
          rewriteTimestamp: false,
          annotations: [],
          attest: false,
          forceIndex: false,
        });
        const platforms = session.images.map((i) => `${i.platform.os}/${i.platform.architecture}`);
        await writeFile(output.dest, `${assembly.root.digest} ${platforms.join(",")}\n`);
        return { result: { type: "digest-file", dest: output.dest } };
      },
    };
  },
} as unknown as Exporter;

registerExporter(digestFile);

const custom = (dest: string, format = "text") =>
  ({ type: "digest-file", dest, format }) as unknown as OutputSpec;

describe("exporters by type", () => {
  test("a registered exporter is given the build result and reported like the built-in ones", async () => {
    const dest = join(dir, "digest.txt");
    const oci = join(dir, "image.tar");
    const result = await exportImages({
      images,
      store,
      outputs: [...parseOutputs({ output: [`type=oci,dest=${oci}`], tags: [], push: false }), custom(dest)],
    });
    assert.equal(await readFile(dest, "utf8"), `${result.descriptor.digest} linux/amd64,linux/arm64\n`);
    assert.deepEqual((result.metadata["polyarch.outputs"] as unknown[])[1], { type: "digest-file", dest });
  });

  test("every output is resolved before any writes: a bad attribute leaves no file behind", async () => {
    const oci = join(dir, "never.tar");
    await assert.rejects(
      exportImages({
        images,
        store,
        outputs: [
          ...parseOutputs({ output: [`type=oci,dest=${oci}`], tags: [], push: false }),
          custom(join(dir, "x"), "yaml"),
        ],
      }),
      /digest-file: unknown format yaml/,
    );
    await assert.rejects(stat(oci), { code: "ENOENT" });
  });

  test("a type is registered once", () => {
    assert.throws(() => registerExporter(digestFile), /type=digest-file is registered twice/);
  });
});
