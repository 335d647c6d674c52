import type { Readable } from "node:stream";
import { setTimeout as sleep } from "node:timers/promises";
import { UserError } from "../errors/user-error.ts";
import { type Digest, DigestMismatchError, digestOf, isDigest } from "../oci/digest.ts";
import { MediaType, manifestAccept } from "../oci/media-types.ts";
import {
  RegistryHttpError,
  RegistryNetworkError,
  type RegistryTransport,
  type TransportResponse,
} from "./transport.ts";

/** Manifest bytes exactly as the registry served them, with what it said about them. */
export interface FetchedManifest {
  bytes: Buffer;
  mediaType: string;
  digest: Digest;
}

export interface BlobSource {
  size: number;
  /** Opens the blob from its start; called again when an upload is retried. */
  open(): Readable;
}

/**
 * The distribution API for one repository: manifests and blobs by digest, uploads (monolithic or chunked)
 * and cross-repository mounts. Scope strings follow the token spec (`repository:NAME:pull,push`).
 */
export class RepositoryClient {
  readonly transport: RegistryTransport;
  readonly repository: string;
  readonly #chunkSize: number | undefined;

  constructor(transport: RegistryTransport, repository: string, chunkSize?: number) {
    this.transport = transport;
    this.repository = repository;
    this.#chunkSize = chunkSize;
  }

  get pullScope(): string {
    return `repository:${this.repository}:pull`;
  }

  get pushScope(): string {
    return `repository:${this.repository}:pull,push`;
  }

  #where(what: string): string {
    return `${this.transport.registry}/${this.repository}: ${what}`;
  }

  /** GET a manifest by tag or digest; verifies the bytes against the digest asked for or announced. */
  async getManifest(reference: string): Promise<FetchedManifest> {
    const fetched = await this.tryGetManifest(reference);
    if (!fetched) throw notFound(this.transport.registry, this.repository, reference);
    return fetched;
  }

  /** Like getManifest, but a manifest the repository does not have is undefined rather than an error. */
  async tryGetManifest(reference: string): Promise<FetchedManifest | undefined> {
    // Read whole by the transport: a manifest cut midway is fetched again, not a failed pull.
    const res = await this.transport.sendBuffered({
      method: "GET",
      path: `/v2/${this.repository}/manifests/${reference}`,
      headers: { accept: manifestAccept.join(", ") },
      scopes: [this.pullScope],
      expect: [404],
    });
    if (res.status === 404) return undefined;
    const bytes = res.bytes;
    const mediaType = headerString(res, "content-type")?.split(";")[0]?.trim() ?? "";
    const announced = headerString(res, "docker-content-digest");
    const expected = isDigest(reference)
      ? reference
      : announced && isDigest(announced)
        ? announced
        : undefined;
    const actual = digestOf(bytes, expected?.startsWith("sha512:") ? "sha512" : "sha256");
    if (expected && expected !== actual)
      throw new DigestMismatchError(expected, actual, this.#where(`manifest ${reference}`));
    return { bytes, mediaType, digest: expected ?? actual };
  }

  /** HEAD a manifest: its digest and type without the body, or undefined when absent. */
  async headManifest(
    reference: string,
  ): Promise<{ digest: Digest | undefined; mediaType: string; size: number } | undefined> {
    const res = await this.transport.send({
      method: "HEAD",
      path: `/v2/${this.repository}/manifests/${reference}`,
      headers: { accept: manifestAccept.join(", ") },
      scopes: [this.pullScope],
      expect: [404],
    });
    await res.body.dump();
    if (res.status === 404) return undefined;
    const d = headerString(res, "docker-content-digest");
    return {
      digest: d && isDigest(d) ? d : undefined,
      mediaType: headerString(res, "content-type")?.split(";")[0]?.trim() ?? "",
      size: Number(headerString(res, "content-length") ?? 0),
    };
  }

  async putManifest(reference: string, bytes: Buffer, mediaType: string): Promise<Digest> {
    return (await this.putManifestResponse(reference, bytes, mediaType)).digest;
  }

  /**
   * PUTs a manifest and says what the registry answered: `subject` is its `OCI-Subject` header, which a
   * registry with the referrers API sends for a manifest that has a subject.
   */
  async putManifestResponse(
    reference: string,
    bytes: Buffer,
    mediaType: string,
  ): Promise<{ digest: Digest; subject: string | undefined }> {
    const digest = digestOf(bytes);
    const res = await this.transport.send({
      method: "PUT",
      path: `/v2/${this.repository}/manifests/${reference}`,
      headers: { "content-type": mediaType },
      body: () => bytes,
      scopes: [this.pushScope],
    });
    await res.body.dump();
    const announced = headerString(res, "docker-content-digest");
    if (announced && isDigest(announced) && announced !== digest) {
      throw new UserError(
        this.#where(`registry stored manifest ${reference} under ${announced}, expected ${digest}`),
      );
    }
    return { digest, subject: headerString(res, "oci-subject") };
  }

  /**
   * The referrers API's index of manifests whose `subject` is `digest` (distribution spec 1.1), or
   * undefined when the registry has no such API (it answers 404, as distribution 2.8 does).
   */
  async referrersIndex(digest: Digest): Promise<Buffer | undefined> {
    const res = await this.transport.sendBuffered({
      method: "GET",
      path: `/v2/${this.repository}/referrers/${digest}`,
      headers: { accept: MediaType.ociIndex },
      scopes: [this.pullScope],
      expect: [404],
    });
    if (res.status === 404) return undefined;
    return res.bytes;
  }

  /** True when the repository has the blob (HEAD), so an upload can be skipped. */
  async hasBlob(digest: Digest, scopes: readonly string[] = [this.pullScope]): Promise<boolean> {
    const res = await this.transport.send({
      method: "HEAD",
      path: `/v2/${this.repository}/blobs/${digest}`,
      scopes,
      expect: [404],
    });
    await res.body.dump();
    return res.status === 200;
  }

  /** Opens a blob's byte stream (after redirects). The caller verifies the digest as it consumes it. */
  async openBlob(digest: Digest): Promise<{ body: TransportResponse["body"]; size: number | undefined }> {
    const res = await this.transport.send({
      method: "GET",
      path: `/v2/${this.repository}/blobs/${digest}`,
      scopes: [this.pullScope],
      expect: [404],
    });
    if (res.status === 404) {
      await res.body.dump();
      throw new UserError(this.#where(`blob ${digest} is missing`), {
        hint: "the image is incomplete in the registry; push it again",
      });
    }
    const length = headerString(res, "content-length");
    return { body: res.body, size: length === undefined ? undefined : Number(length) };
  }

  /**
   * Tries to mount a blob from another repository of the same registry. Returns true when mounted; false when
   * the registry started an ordinary upload instead (that session is cancelled so nothing leaks).
   */
  async mountBlob(digest: Digest, fromRepository: string): Promise<boolean> {
    const res = await this.transport.send({
      method: "POST",
      path: `/v2/${this.repository}/blobs/uploads/?mount=${encodeURIComponent(digest)}&from=${encodeURIComponent(fromRepository)}`,
      scopes: [this.pushScope, `repository:${fromRepository}:pull`],
      expect: [404, 403],
    });
    await res.body.dump();
    if (res.status === 201) return true;
    const location = headerString(res, "location");
    if (res.status === 202 && location) {
      await this.transport
        .send({
          method: "DELETE",
          path: this.#absolute(location, res),
          scopes: [this.pushScope],
          expect: [404, 405, 400],
        })
        .then((r) => r.body.dump())
        .catch(() => undefined);
    }
    return false;
  }

  /**
   * Uploads a blob unless the repository has it already. Monolithic (POST then PUT with the whole body) by
   * default; PATCH chunks when a chunk size is set and the blob is larger. A failed upload restarts from a
   * fresh session, re-opening the source, so a cut connection costs one blob, not the push.
   */
  async pushBlob(
    digest: Digest,
    source: BlobSource,
    options: { mountFrom?: string; knownAbsent?: boolean } = {},
  ): Promise<"exists" | "mounted" | "uploaded"> {
    // knownAbsent: the caller has just asked (HEAD and any mount) itself; asking again would only repeat it.
    if (!options.knownAbsent && (await this.hasBlob(digest, [this.pushScope]))) return "exists";
    if (
      !options.knownAbsent &&
      options.mountFrom &&
      options.mountFrom !== this.repository &&
      (await this.mountBlob(digest, options.mountFrom))
    )
      return "mounted";
    const chunked = this.#chunkSize !== undefined && source.size > this.#chunkSize;
    for (let attempt = 1; ; attempt++) {
      try {
        await (chunked
          ? this.#uploadChunked(digest, source, this.#chunkSize!)
          : this.#uploadMonolithic(digest, source));
        return "uploaded";
      } catch (e) {
        if (!isRestartableUploadFailure(e) || attempt >= this.transport.maxAttempts) throw e;
        await sleep(this.transport.backoffMs(attempt));
      }
    }
  }

  async #startUpload(): Promise<string> {
    const res = await this.transport.send({
      method: "POST",
      path: `/v2/${this.repository}/blobs/uploads/`,
      scopes: [this.pushScope],
    });
    await res.body.dump();
    const location = headerString(res, "location");
    if (res.status !== 202 || !location)
      throw new UserError(this.#where(`registry did not start an upload (HTTP ${res.status})`));
    return this.#absolute(location, res);
  }

  #absolute(location: string, res: TransportResponse): string {
    return new URL(location, res.url).toString();
  }

  async #uploadMonolithic(digest: Digest, source: BlobSource): Promise<void> {
    const location = await this.#startUpload();
    const url = new URL(location);
    url.searchParams.set("digest", digest);
    const res = await this.transport.send({
      method: "PUT",
      path: url.toString(),
      headers: { "content-type": "application/octet-stream", "content-length": String(source.size) },
      body: () => source.open(),
      scopes: [this.pushScope],
      expect: [400],
      retryNetworkErrors: false,
    });
    await this.#finishUpload(res, digest);
  }

  async #uploadChunked(digest: Digest, source: BlobSource, chunkSize: number): Promise<void> {
    let location = await this.#startUpload();
    let offset = 0;
    const stream = source.open();
    let pending: Buffer[] = [];
    let pendingSize = 0;
    const flush = async (data: Buffer) => {
      const end = offset + data.length - 1;
      const res = await this.transport.send({
        method: "PATCH",
        path: location,
        headers: {
          "content-type": "application/octet-stream",
          "content-length": String(data.length),
          "content-range": `${offset}-${end}`,
        },
        body: () => data,
        scopes: [this.pushScope],
        retryNetworkErrors: false,
      });
      await res.body.dump();
      const next = headerString(res, "location");
      if (next) location = this.#absolute(next, res);
      offset = end + 1;
    };
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      pending.push(chunk);
      pendingSize += chunk.length;
      while (pendingSize >= chunkSize) {
        const all = Buffer.concat(pending);
        await flush(all.subarray(0, chunkSize));
        const rest = all.subarray(chunkSize);
        pending = rest.length ? [Buffer.from(rest)] : [];
        pendingSize = rest.length;
      }
    }
    if (pendingSize) await flush(Buffer.concat(pending));
    const url = new URL(location);
    url.searchParams.set("digest", digest);
    const res = await this.transport.send({
      method: "PUT",
      path: url.toString(),
      headers: { "content-length": "0" },
      scopes: [this.pushScope],
      expect: [400],
    });
    await this.#finishUpload(res, digest);
  }

  async #finishUpload(res: TransportResponse, digest: Digest): Promise<void> {
    if (res.status === 400) {
      const text = await res.body.text().catch(() => "");
      if (/DIGEST_INVALID/.test(text)) {
        throw new UserError(
          this.#where(`the registry rejected blob ${digest}: its bytes do not match the digest`),
          {
            hint: "the local copy of this blob is corrupt; remove it from the store and build or pull again",
          },
        );
      }
      throw new RegistryHttpError(
        400,
        this.#where(`upload of ${digest} failed: ${text.slice(0, 200)}`),
        undefined,
      );
    }
    await res.body.dump();
    if (res.status !== 201)
      throw new UserError(this.#where(`upload of ${digest} ended with HTTP ${res.status}, expected 201`));
  }

  /** Lists tags (used by imagetools and tests). */
  async listTags(): Promise<string[]> {
    const res = await this.transport.sendBuffered({
      method: "GET",
      path: `/v2/${this.repository}/tags/list`,
      scopes: [this.pullScope],
      expect: [404],
    });
    if (res.status === 404) return [];
    let body: { tags?: string[] | null };
    try {
      body = JSON.parse(res.bytes.toString("utf8")) as typeof body;
    } catch {
      throw new UserError(this.#where("the tag list is not valid JSON"));
    }
    return body.tags ?? [];
  }
}

/** A cut connection, or a session the registry lost track of after one: worth a fresh upload session. */
function isRestartableUploadFailure(e: unknown): boolean {
  if (e instanceof RegistryNetworkError) return true;
  if (e instanceof RegistryHttpError)
    return e.status === 416 || e.code === "BLOB_UPLOAD_INVALID" || e.code === "BLOB_UPLOAD_UNKNOWN";
  return false;
}

export function headerString(res: Pick<TransportResponse, "headers">, name: string): string | undefined {
  const v = res.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

function notFound(registry: string, repository: string, reference: string): UserError {
  return new UserError(`${registry}/${repository}:${reference} not found`, {
    hint: "check the repository name and tag (docker.io names need a namespace such as library/ for official images)",
  });
}
