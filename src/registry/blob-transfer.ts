import { pipeline, Transform } from "node:stream";
import { setTimeout as sleep } from "node:timers/promises";
import {
  type BlobProvider,
  type BlobWriter,
  type ContentStore,
  CorruptBlobError,
  distributionSourceLabelPrefix,
} from "../content/index.ts";
import { UserError } from "../errors/user-error.ts";
import type { Descriptor } from "../oci/descriptor.ts";
import { releaseBuffersAfter } from "./release-buffers.ts";
import type { RepositoryClient } from "./repository-client.ts";
import { errorCode, isRetryableNetworkError, networkFailureHint, RegistryNetworkError } from "./transport.ts";

/**
 * Downloads a blob into the store, verified against its descriptor (digest and size) as it streams; nothing
 * enters the store unless it matches. A connection cut mid-body restarts the download; a digest mismatch
 * does not (the registry served wrong bytes: retrying would mask tampering).
 */
export async function pullBlob(
  repo: RepositoryClient,
  store: ContentStore,
  descriptor: Descriptor,
): Promise<"present" | "fetched"> {
  if (await store.has(descriptor.digest)) return "present";
  const where = `${repo.transport.registry}/${repo.repository}@${descriptor.digest}`;
  const labels = { [`${distributionSourceLabelPrefix}${repo.transport.registry}`]: repo.repository };
  for (let attempt = 1; ; attempt++) {
    const writer = await store.openWriter(
      { digest: descriptor.digest, size: descriptor.size },
      { where, labels },
    );
    try {
      const { body } = await repo.openBlob(descriptor.digest);
      await writeBatched(body, writer);
      await writer.commit();
      return "fetched";
    } catch (e) {
      await writer.abort();
      // A UserError is final: wrong bytes (retrying would mask tampering), a full disk, or a request the
      // transport already retried to its limit. What is left is the body cut midway, worth a fresh GET.
      if (e instanceof UserError || !isRetryableNetworkError(e)) throw e;
      if (attempt >= repo.transport.maxAttempts)
        throw new RegistryNetworkError(
          `${where}: the download was cut off ${attempt} times: ${errorCode(e) ?? (e as Error).message}`,
          { hint: networkFailureHint(e, repo.transport.registry), cause: e },
        );
      await sleep(repo.transport.backoffMs(attempt));
    }
  }
}

const batchBytes = 1 << 20;

/**
 * Network chunks are small (tens of KB); writing each one and waiting for it stalls the download. Chunks are
 * gathered into ~1 MiB vectored writes, with one write in flight while the next batch arrives.
 */
async function writeBatched(body: AsyncIterable<Uint8Array>, writer: BlobWriter): Promise<void> {
  let inFlight: Promise<void> = Promise.resolve();
  let batch: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of body) {
    batch.push(chunk);
    size += chunk.byteLength;
    releaseBuffersAfter(chunk.byteLength);
    if (size >= batchBytes) {
      await inFlight;
      inFlight = writer.writev(batch);
      batch = [];
      size = 0;
    }
  }
  await inFlight;
  if (size) await writer.writev(batch);
}

/**
 * Uploads a stored blob (HEAD first; mounted from `mountFrom` on the same registry when possible). The bytes
 * come through the store's verified read, so a blob damaged on disk fails the upload before its last byte
 * is sent, and the registry never completes it; that failure is reported as what it is, not as the network
 * error the transport sees when a request body fails.
 */
export async function pushStoredBlob(
  repo: RepositoryClient,
  store: BlobProvider,
  descriptor: Descriptor,
  options: { knownAbsent?: boolean } = {},
): Promise<"exists" | "mounted" | "uploaded"> {
  const labels = (await store.labels?.(descriptor.digest)) ?? {};
  const mountFrom = labels[`${distributionSourceLabelPrefix}${repo.transport.registry}`];
  let damaged: CorruptBlobError | undefined;
  const open = () => {
    // Counted on the way out so dead read buffers are freed as the upload goes (see release-buffers.ts).
    const counted = new Transform({
      transform(chunk: Buffer, _encoding, done) {
        releaseBuffersAfter(chunk.byteLength);
        done(null, chunk);
      },
    });
    counted.on("error", (e) => {
      if (e instanceof CorruptBlobError) damaged = e;
    });
    if (damaged) {
      // A retried upload must not read the blob again: it is known damaged (and gone from the store).
      counted.destroy(damaged);
      return counted;
    }
    store.readStream(descriptor.digest).then(
      (blob) => pipeline(blob, counted, () => {}),
      (e: unknown) => counted.destroy(e as Error),
    );
    return counted;
  };
  try {
    return await repo.pushBlob(
      descriptor.digest,
      { size: descriptor.size, open },
      { ...(mountFrom ? { mountFrom } : {}), ...options },
    );
  } catch (e) {
    throw damaged ?? e;
  }
}
