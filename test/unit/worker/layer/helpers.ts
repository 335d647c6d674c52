/** Test support: temp dirs, exporting and applying layers through files, tars built by an independent writer. */
import { createReadStream, createWriteStream, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after } from "node:test";
import tarStream from "tar-stream";
import {
  type AppliedLayer,
  type ApplyOptions,
  applyLayer,
} from "../../../../src/worker/layer/apply-layer.ts";
import {
  type ExportedLayer,
  type ExportLayerOptions,
  exportLayer,
} from "../../../../src/worker/layer/export-layer.ts";

const made: string[] = [];
after(() => {
  for (const dir of made) rmSync(dir, { recursive: true, force: true });
});

export function tempDir(prefix = "polyarch-layer-"): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  made.push(dir);
  return dir;
}

export async function exportToFile(
  file: string,
  options: Omit<ExportLayerOptions, "sink">,
): Promise<ExportedLayer> {
  return exportLayer({ ...options, sink: () => createWriteStream(file) });
}

export async function applyFile(file: string, options: ApplyOptions): Promise<AppliedLayer> {
  return applyLayer(createReadStream(file), options);
}

export interface TarSpec {
  name: string;
  type?: "file" | "directory" | "symlink" | "link" | "character-device" | "fifo";
  linkname?: string;
  content?: string;
  mode?: number;
}

/** A tar written by tar-stream, which writes whatever names it is given: the hostile layers of the tests. */
export async function tarOf(specs: TarSpec[]): Promise<Buffer> {
  const pack = tarStream.pack();
  for (const spec of specs) {
    const header = {
      name: spec.name,
      type: spec.type ?? "file",
      mode: spec.mode ?? (spec.type === "directory" ? 0o755 : 0o644),
      mtime: new Date(1_700_000_000_000),
      ...(spec.linkname === undefined ? {} : { linkname: spec.linkname }),
    };
    if ((spec.type ?? "file") === "file") pack.entry(header, spec.content ?? "");
    else pack.entry(header);
  }
  pack.finalize();
  const parts: Buffer[] = [];
  for await (const chunk of pack as AsyncIterable<Buffer>) parts.push(chunk);
  return Buffer.concat(parts);
}

export async function* bytes(data: Buffer): AsyncGenerator<Buffer> {
  yield data;
}
