// Run as a child process by the store tests: writes a generated blob into a store, slowly when asked, so
// the parent can kill it mid-write or race two of them. Prints the stored info as JSON on success.
import { openContentStore } from "../../../src/content/index.ts";
import type { Digest } from "../../../src/oci/digest.ts";

const [root, digest, sizeText, chunkText, mode] = process.argv.slice(2);
const size = Number(sizeText);
const chunkSize = Number(chunkText);

/** The same bytes in every process for the same size: byte i is i mod 251. */
export function patternChunk(offset: number, length: number): Buffer {
  const b = Buffer.alloc(length);
  for (let i = 0; i < length; i++) b[i] = (offset + i) % 251;
  return b;
}

async function* slowSource(): AsyncGenerator<Uint8Array> {
  for (let offset = 0; offset < size; offset += chunkSize) {
    yield patternChunk(offset, Math.min(chunkSize, size - offset));
    if (mode === "stall" && offset + chunkSize >= size / 2) {
      process.stdout.write("halfway\n");
      await new Promise(() => {}); // hang here until killed
    }
    await new Promise((r) => setImmediate(r));
  }
}

if (root && digest) {
  const store = await openContentStore(root);
  const info = await store.write({ digest: digest as Digest, size }, slowSource());
  process.stdout.write(`${JSON.stringify(info)}\n`);
}
