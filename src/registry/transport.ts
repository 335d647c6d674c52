import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { Readable } from "node:stream";
import { setTimeout as sleep } from "node:timers/promises";
import { rootCertificates } from "node:tls";
import type { Dispatcher } from "undici";
import { UserError } from "../errors/user-error.ts";
import { type AuthChallenge, parseAuthChallenges } from "./auth-challenge.ts";
import { type CredentialSource, type Credentials, DockerConfigCredentials } from "./credentials.ts";
import { Agent, httpRequest } from "./http-request.ts";
import { apiHost, isLoopbackRegistry } from "./reference.ts";
import { defaultCertsDir, type RegistryOptions } from "./registry-options.ts";

export type HttpMethod = "GET" | "HEAD" | "POST" | "PUT" | "PATCH" | "DELETE";

export interface TransportRequest {
  method: HttpMethod;
  /** Path and query under the registry origin (`/v2/...`), or an absolute URL (upload locations, redirects). */
  path: string;
  headers?: Record<string, string>;
  /** A function, so that a retried request can send its body again from the start. */
  body?: () => Readable | Buffer | string;
  /** Token scopes this request needs, e.g. `repository:library/alpine:pull`. */
  scopes: readonly string[];
  /** Statuses the caller handles itself; anything else not 2xx is an error. */
  expect?: readonly number[];
  /**
   * False for upload requests: after a connection is cut mid-body the registry may hold part of it, so the
   * caller restarts the whole upload session instead of resending to the same location.
   */
  retryNetworkErrors?: boolean;
}

export interface TransportResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Dispatcher.ResponseData["body"];
  url: string;
}

/** A whole small response (manifest, index, tag list), read to its end before the caller sees it. */
export interface BufferedResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  bytes: Buffer;
  url: string;
}

/** Thrown for an HTTP status the caller did not expect, after retries. Carries the registry's error text. */
export class RegistryHttpError extends UserError {
  readonly status: number;
  readonly code: string | undefined;

  constructor(status: number, message: string, code: string | undefined, hint?: string) {
    super(message, hint === undefined ? {} : { hint });
    this.status = status;
    this.code = code;
  }
}

/** A request that failed at the connection level after its retries (or with retries off). */
export class RegistryNetworkError extends UserError {
  override name = "RegistryNetworkError";
}

const retryableStatuses = new Set([408, 425, 429, 500, 502, 503, 504]);
const retryableCodes = new Set([
  "ECONNRESET",
  // Nothing listens for a moment (a registry restarting): the request never left, so any request may retry.
  "ECONNREFUSED",
  "EPIPE",
  "ETIMEDOUT",
  "ECONNABORTED",
  "EAI_AGAIN",
  "UND_ERR_SOCKET",
  "UND_ERR_CLOSED",
  "UND_ERR_CONNECT_TIMEOUT",
  "UND_ERR_HEADERS_TIMEOUT",
  "UND_ERR_BODY_TIMEOUT",
  "UND_ERR_REQ_CONTENT_LENGTH_MISMATCH",
  "UND_ERR_RES_CONTENT_LENGTH_MISMATCH",
]);

export function errorCode(e: unknown): string | undefined {
  let cur: unknown = e;
  for (let depth = 0; cur && depth < 5; depth++) {
    const code = (cur as { code?: unknown }).code;
    if (typeof code === "string") return code;
    cur = (cur as { cause?: unknown }).cause;
  }
  return undefined;
}

/** True for failures worth another attempt: a reset or timed-out connection, a cut body. */
export function isRetryableNetworkError(e: unknown): boolean {
  const code = errorCode(e);
  if (code && retryableCodes.has(code)) return true;
  return e instanceof Error && /other side closed|socket hang up|terminated|aborted/i.test(e.message);
}

/** Connection refused: the request never reached a server, so even a non-idempotent upload may be re-sent. */
function isRefused(e: unknown): boolean {
  return errorCode(e) === "ECONNREFUSED";
}

/** A connect that timed out costs its whole timeout each time: such a host gets fewer attempts. */
function isConnectTimeout(e: unknown): boolean {
  const code = errorCode(e);
  return code === "UND_ERR_CONNECT_TIMEOUT" || code === "ETIMEDOUT";
}

/** What to do about a request that failed at the connection level, by why it failed. */
export function networkFailureHint(e: unknown, host: string): string {
  const code = errorCode(e);
  if (code === "ECONNREFUSED")
    return `nothing accepted connections at ${host}: check that the registry is running and the address and port are right`;
  if (code === "ENOTFOUND" || code === "EAI_AGAIN")
    return `the host name ${host} does not resolve: check the name and your DNS`;
  if (code && /TIMEOUT|ETIMEDOUT/.test(code))
    return `${host} did not answer in time: check the network (proxy, firewall) and try again`;
  return `the connection to ${host} was cut repeatedly: check the network (proxy, VPN) and the registry's health, then try again`;
}

function isCertificateError(e: unknown): boolean {
  const code = errorCode(e) ?? "";
  return /CERT|SELF_SIGNED|UNABLE_TO_VERIFY|ERR_TLS_CERT/.test(code);
}

function retryAfterMs(header: string | string[] | undefined): number | undefined {
  const v = Array.isArray(header) ? header[0] : header;
  if (!v) return undefined;
  if (/^\d+$/.test(v.trim())) return Number(v.trim()) * 1000;
  const date = Date.parse(v);
  return Number.isNaN(date) ? undefined : Math.max(0, date - Date.now());
}

/**
 * Ten attempts with waits doubling from 200 ms to at most 5 s: a registry (or proxy) failing one request in
 * three still fails a given request only once in ~170 000, and a registry that stays down is reported after
 * about 25 s of waiting. A server's Retry-After is honoured up to retryMaxMs instead.
 */
const defaultMaxAttempts = 10;
const ownBackoffCapMs = 5_000;

/** Small responses read whole; more than this from a manifest or token endpoint is not a real answer. */
const maxBufferedBytes = 16 * 1024 * 1024;

interface Token {
  value: string;
  expiresAt: number;
}

/**
 * The HTTP layer for one registry: scheme selection (HTTPS, or plain HTTP where allowed), TLS trust from
 * certs.d, authentication from the server's challenge (bearer tokens per scope set, or basic), retries with
 * back-off, and redirects that never carry credentials to another origin.
 */
export class RegistryTransport {
  readonly registry: string;
  readonly #options: RegistryOptions;
  readonly #credentials: CredentialSource;
  readonly #dispatcher: Agent;
  readonly #insecure: boolean;
  #origin: Promise<string> | undefined;
  #challenge: AuthChallenge | undefined;
  readonly #tokens = new Map<string, Token>();
  readonly #tokenRequests = new Map<string, Promise<Token>>();
  #credentialsLookup: Promise<Credentials | undefined> | undefined;

  constructor(registry: string, options: RegistryOptions = {}) {
    this.registry = registry;
    this.#options = options;
    this.#credentials = options.credentials ?? new DockerConfigCredentials();
    this.#insecure = options.insecureRegistries?.includes(registry) ?? false;
    this.#dispatcher = new Agent({
      connect: this.#tlsOptions(),
      connections: 16,
      keepAliveTimeout: 10_000,
      headersTimeout: 60_000,
      bodyTimeout: 120_000,
    });
  }

  #tlsOptions(): {
    ca?: string[];
    cert?: string;
    key?: string;
    rejectUnauthorized?: boolean;
    servername?: string;
  } {
    const dir = join(this.#options.certsDir ?? defaultCertsDir(), this.registry);
    const out: { ca?: string[]; cert?: string; key?: string; rejectUnauthorized?: boolean } = {};
    let files: string[] = [];
    try {
      files = readdirSync(dir);
    } catch {
      // No certs.d entry for this host: system trust only.
    }
    const extraCas = files.filter((f) => f.endsWith(".crt")).map((f) => readFileSync(join(dir, f), "utf8"));
    if (extraCas.length) out.ca = [...rootCertificates, ...extraCas];
    if (files.includes("client.cert") && files.includes("client.key")) {
      out.cert = readFileSync(join(dir, "client.cert"), "utf8");
      out.key = readFileSync(join(dir, "client.key"), "utf8");
    }
    if (this.#insecure) out.rejectUnauthorized = false;
    return out;
  }

  async close(): Promise<void> {
    await this.#dispatcher.close();
  }

  #log(line: string): void {
    this.#options.log?.(line);
  }

  /** Finds the scheme that works: HTTPS first; plain HTTP only for loopback or explicitly insecure hosts. */
  origin(): Promise<string> {
    this.#origin ??= this.#probeOrigin();
    return this.#origin;
  }

  async #probeOrigin(): Promise<string> {
    const host = apiHost(this.registry);
    const httpAllowed = this.#insecure || isLoopbackRegistry(this.registry);
    const candidates = httpAllowed ? [`https://${host}`, `http://${host}`] : [`https://${host}`];
    let lastError: unknown;
    for (const origin of candidates) {
      for (let attempt = 1; ; attempt++) {
        try {
          const res = await httpRequest(this.#dispatcher, `${origin}/v2/`, {
            method: "GET",
            headers: this.#baseHeaders(),
          });
          await res.body.dump();
          this.#log(`GET ${origin}/v2/ -> ${res.statusCode}`);
          if (res.statusCode === 401) this.#noteChallenge(res.headers["www-authenticate"]);
          if (res.statusCode >= 500 && attempt < this.#maxAttempts()) {
            await sleep(this.#backoff(attempt, res.headers["retry-after"]));
            continue;
          }
          return origin;
        } catch (e) {
          lastError = e;
          this.#log(`GET ${origin}/v2/ -> ${errorCode(e) ?? (e as Error).message}`);
          // The server speaks TLS but we do not trust it: falling back to plain HTTP would only hide that.
          if (isCertificateError(e)) throw this.#unreachable(e, httpAllowed);
          // With a plain-HTTP fallback, a failed TLS handshake usually means the server speaks HTTP: move on.
          // A refused connection says nothing about the scheme (no server listens at all yet): stay and retry,
          // or a registry coming back during the fallback would be taken for a plain-HTTP one.
          const hasFallback = origin !== candidates[candidates.length - 1];
          const budget = isConnectTimeout(e) ? Math.min(3, this.#maxAttempts()) : this.#maxAttempts();
          if ((!hasFallback || isRefused(e)) && isRetryableNetworkError(e) && attempt < budget) {
            await sleep(this.#backoff(attempt, undefined));
            continue;
          }
          if (isRefused(e)) throw this.#unreachable(e, httpAllowed);
          break;
        }
      }
    }
    throw this.#unreachable(lastError, httpAllowed);
  }

  #unreachable(e: unknown, httpAllowed: boolean): UserError {
    const code = errorCode(e);
    const why =
      code === "ENOTFOUND" || code === "EAI_AGAIN"
        ? "the host name does not resolve"
        : code === "ECONNREFUSED"
          ? "connection refused"
          : isCertificateError(e)
            ? `its TLS certificate is not trusted (${code})`
            : (code ?? (e as Error | undefined)?.message ?? "unknown error");
    const hint = why.includes("TLS")
      ? `put the registry's CA certificate in ${join(this.#options.certsDir ?? defaultCertsDir(), this.registry)}/ca.crt, or mark it insecure`
      : httpAllowed
        ? `check the address and that the registry at ${this.registry} is running`
        : `check the address and your network; a registry that speaks only plain HTTP must be marked insecure`;
    return new UserError(`cannot reach registry ${this.registry}: ${why}`, { hint, cause: e });
  }

  get maxAttempts(): number {
    return this.#maxAttempts();
  }

  /** The delay before attempt `attempt + 1`, for callers that retry a whole sequence of requests. */
  backoffMs(attempt: number): number {
    return this.#backoff(attempt, undefined);
  }

  #maxAttempts(): number {
    return this.#options.maxAttempts ?? defaultMaxAttempts;
  }

  #backoff(attempt: number, retryAfter: string | string[] | undefined): number {
    const max = this.#options.retryMaxMs ?? 30_000;
    const server = retryAfterMs(retryAfter);
    if (server !== undefined) return Math.min(server, max);
    const base = (this.#options.retryBaseMs ?? 200) * 2 ** (attempt - 1);
    return Math.min(max, ownBackoffCapMs, base / 2 + Math.random() * base);
  }

  #baseHeaders(): Record<string, string> {
    return { "user-agent": this.#options.userAgent ?? "polyarch" };
  }

  #noteChallenge(header: string | string[] | undefined): void {
    const challenges = parseAuthChallenges(header);
    this.#challenge =
      challenges.find((c) => c.scheme === "bearer") ??
      challenges.find((c) => c.scheme === "basic") ??
      this.#challenge;
  }

  #creds(): Promise<Credentials | undefined> {
    this.#credentialsLookup ??= this.#credentials.get(this.registry);
    return this.#credentialsLookup;
  }

  /** The Authorization header for these scopes, fetching a token when the registry wants bearer auth. */
  async #authorization(scopes: readonly string[], force: boolean): Promise<string | undefined> {
    const challenge = this.#challenge;
    if (!challenge) return undefined;
    const creds = await this.#creds();
    if (challenge.scheme === "basic") {
      if (!creds?.username && !creds?.password) return undefined;
      return `Basic ${Buffer.from(`${creds.username ?? ""}:${creds.password ?? ""}`).toString("base64")}`;
    }
    if (challenge.scheme !== "bearer") return undefined;
    if (creds?.registryToken) return `Bearer ${creds.registryToken}`;
    const key = [...new Set(scopes)].sort().join(" ");
    const cached = this.#tokens.get(key);
    if (!force && cached && cached.expiresAt > Date.now() + 5_000) return `Bearer ${cached.value}`;
    let pending = this.#tokenRequests.get(key);
    if (!pending || force) {
      pending = this.#fetchToken(challenge, [...new Set(scopes)].sort(), creds).finally(() =>
        this.#tokenRequests.delete(key),
      );
      this.#tokenRequests.set(key, pending);
    }
    const token = await pending;
    this.#tokens.set(key, token);
    return `Bearer ${token.value}`;
  }

  /** Token endpoint exchange (Docker token spec): GET with basic auth, or the OAuth2 POST for refresh tokens. */
  async #fetchToken(
    challenge: AuthChallenge,
    scopes: string[],
    creds: Credentials | undefined,
  ): Promise<Token> {
    const realm = challenge.params.realm;
    if (!realm)
      throw new UserError(`registry ${this.registry} asked for a bearer token but named no token server`);
    const url = new URL(realm);
    const service = challenge.params.service;
    const method = creds?.identityToken ? "POST" : "GET";
    let init: { method: "GET" | "POST"; headers: Record<string, string>; body?: string };
    if (creds?.identityToken) {
      const form = new URLSearchParams({
        grant_type: "refresh_token",
        refresh_token: creds.identityToken,
        client_id: "polyarch",
      });
      if (service) form.set("service", service);
      if (scopes.length) form.set("scope", scopes.join(" "));
      init = {
        method,
        headers: { ...this.#baseHeaders(), "content-type": "application/x-www-form-urlencoded" },
        body: form.toString(),
      };
    } else {
      if (service) url.searchParams.set("service", service);
      for (const s of scopes) url.searchParams.append("scope", s);
      const headers: Record<string, string> = this.#baseHeaders();
      if (creds?.username !== undefined || creds?.password !== undefined) {
        headers.authorization = `Basic ${Buffer.from(`${creds.username ?? ""}:${creds.password ?? ""}`).toString("base64")}`;
        url.searchParams.set("account", creds.username ?? "");
      }
      init = { method, headers };
    }
    let status: number;
    let text: string;
    for (let attempt = 1; ; attempt++) {
      try {
        const res = await httpRequest(this.#dispatcher, url, init);
        status = res.statusCode;
        this.#log(`${method} ${url.origin}${url.pathname} (token) -> ${status}`);
        if (retryableStatuses.has(status) && attempt < this.#maxAttempts()) {
          await res.body.dump();
          await sleep(this.#backoff(attempt, res.headers["retry-after"]));
          continue;
        }
        // Read whole inside the loop: a token answer cut midway is retried like a reset before the headers.
        text = status < 300 ? (await readLimited(res.body, maxBufferedBytes)).toString("utf8") : "";
        if (status >= 300) await res.body.dump();
        break;
      } catch (e) {
        if (e instanceof UserError) throw e;
        if (isRetryableNetworkError(e) && attempt < this.#maxAttempts()) {
          this.#log(
            `${method} ${url.origin}${url.pathname} (token) -> ${errorCode(e) ?? (e as Error).message}`,
          );
          await sleep(this.#backoff(attempt, undefined));
          continue;
        }
        throw new RegistryNetworkError(
          `cannot get a token from the token server of ${this.registry} (${url.origin}) after ${attempt} attempt${attempt === 1 ? "" : "s"}: ${errorCode(e) ?? (e as Error).message}`,
          { hint: networkFailureHint(e, url.host), cause: e },
        );
      }
    }
    if (status === 401 || status === 403) {
      throw new UserError(
        `authentication to ${this.registry} failed: the token server rejected ${creds ? "the credentials" : "anonymous access"}`,
        {
          hint: creds
            ? `check the username and password saved for ${this.registry} (docker login ${this.registry})`
            : `log in first: docker login ${this.registry}`,
        },
      );
    }
    if (status >= 300) throw new UserError(`the token server of ${this.registry} answered HTTP ${status}`);
    let body: { token?: string; access_token?: string; expires_in?: number; issued_at?: string };
    try {
      body = JSON.parse(text) as typeof body;
    } catch {
      throw new UserError(`the token server of ${this.registry} (${url.origin}) answered with invalid JSON`);
    }
    const value = body.token ?? body.access_token;
    if (!value) throw new UserError(`the token server of ${this.registry} returned no token`);
    // The token spec's default lifetime is 60 seconds when expires_in is absent.
    const issued = body.issued_at ? Date.parse(body.issued_at) : Date.now();
    const lifetime = (body.expires_in && body.expires_in > 0 ? body.expires_in : 60) * 1000;
    return {
      value,
      expiresAt: (Number.isNaN(issued) ? Date.now() : Math.min(issued, Date.now())) + lifetime,
    };
  }

  /**
   * Sends a request with authentication and retries. 401 triggers one re-authentication with the scopes the
   * challenge names; 429/5xx, reset and refused connections are retried with back-off (Retry-After honoured).
   * The body is the caller's to read: a blob streams, and its reader restarts a download cut midway.
   */
  send(req: TransportRequest): Promise<TransportResponse> {
    return this.#exchange(req, async (res) => res);
  }

  /**
   * send, with the body read whole before it returns (manifests, indexes, tag lists). A body cut midway is
   * retried like a reset before the headers, from the same attempt budget: the response is small and a GET
   * (or a PUT of a manifest) can be repeated without harm.
   */
  sendBuffered(req: TransportRequest, maxBytes = maxBufferedBytes): Promise<BufferedResponse> {
    return this.#exchange(req, async (res) => ({
      status: res.status,
      headers: res.headers,
      url: res.url,
      bytes: await readLimited(res.body, maxBytes, () => `${req.method} ${redactUrl(res.url)}`),
    }));
  }

  async #exchange<T>(req: TransportRequest, consume: (res: TransportResponse) => Promise<T>): Promise<T> {
    const origin = await this.origin();
    let url =
      req.path.startsWith("http://") || req.path.startsWith("https://") ? req.path : `${origin}${req.path}`;
    let method = req.method;
    let scopes = [...req.scopes];
    let reauthenticated = false;
    let redirects = 0;
    let body = req.body;
    for (let attempt = 1; ; ) {
      const sameOrigin = new URL(url).origin === origin;
      const headers: Record<string, string> = { ...this.#baseHeaders(), ...req.headers };
      if (sameOrigin) {
        const auth = await this.#authorization(scopes, false);
        if (auth) headers.authorization = auth;
      }
      let res: Dispatcher.ResponseData;
      try {
        res = await httpRequest(this.#dispatcher, url, { method, headers, body: body?.() ?? null });
      } catch (e) {
        this.#log(`${method} ${redactUrl(url)} -> ${errorCode(e) ?? (e as Error).message}`);
        const mayResend = req.retryNetworkErrors !== false || isRefused(e);
        if (mayResend && isRetryableNetworkError(e) && attempt < this.#maxAttempts()) {
          await sleep(this.#backoff(attempt++, undefined));
          continue;
        }
        throw this.#networkError(e, method, url, attempt);
      }
      const status = res.statusCode;
      this.#log(`${method} ${redactUrl(url)} -> ${status}`);
      if (status === 401 && sameOrigin && !reauthenticated) {
        await res.body.dump();
        const before = this.#challenge;
        this.#noteChallenge(res.headers["www-authenticate"]);
        const scope = this.#challenge?.params.scope;
        if (scope) scopes = [...new Set([...scopes, ...scope.split(" ")])];
        reauthenticated = true;
        if (this.#challenge && (this.#challenge !== before || this.#challenge.scheme === "bearer")) {
          await this.#authorization(scopes, true);
          continue;
        }
      }
      if ([301, 302, 303, 307, 308].includes(status) && !(req.expect ?? []).includes(status)) {
        await res.body.dump();
        const location = res.headers.location;
        if (typeof location !== "string" || ++redirects > 5)
          throw new RegistryHttpError(
            status,
            `${this.registry}: too many or broken redirects for ${method} ${redactUrl(url)}`,
            undefined,
          );
        url = new URL(location, url).toString();
        if (status === 303) {
          method = "GET";
          body = undefined;
        }
        continue;
      }
      if (retryableStatuses.has(status) && attempt < this.#maxAttempts()) {
        await res.body.dump();
        await sleep(this.#backoff(attempt++, res.headers["retry-after"]));
        continue;
      }
      if (status >= 400 && !(req.expect ?? []).includes(status)) {
        throw await this.#httpError(res, method, url);
      }
      try {
        return await consume({ status, headers: res.headers, body: res.body, url });
      } catch (e) {
        if (e instanceof UserError) throw e;
        this.#log(`${method} ${redactUrl(url)} -> body cut: ${errorCode(e) ?? (e as Error).message}`);
        if (req.retryNetworkErrors !== false && isRetryableNetworkError(e) && attempt < this.#maxAttempts()) {
          await sleep(this.#backoff(attempt++, undefined));
          continue;
        }
        throw this.#networkError(e, method, url, attempt);
      }
    }
  }

  /** The error for a request that failed at the connection level after `attempts` tries. */
  #networkError(e: unknown, method: string, url: string, attempts: number): UserError {
    const code = errorCode(e);
    const host = (() => {
      try {
        return new URL(url).host;
      } catch {
        return this.registry;
      }
    })();
    return new RegistryNetworkError(
      `${this.registry}: ${method} ${redactUrl(url)} failed after ${attempts} attempt${attempts === 1 ? "" : "s"}: ${code ?? (e as Error).message}`,
      { hint: networkFailureHint(e, host), cause: e },
    );
  }

  async #httpError(res: Dispatcher.ResponseData, method: string, url: string): Promise<RegistryHttpError> {
    let text = "";
    try {
      text = (await res.body.text()).slice(0, 4096);
    } catch {
      // A body we cannot read adds nothing to the error.
    }
    let code: string | undefined;
    let detail = "";
    try {
      const parsed = JSON.parse(text) as { errors?: { code?: string; message?: string }[] };
      const first = parsed.errors?.[0];
      code = first?.code;
      detail = parsed.errors?.map((x) => [x.code, x.message].filter(Boolean).join(": ")).join("; ") ?? "";
    } catch {
      detail = text.split("\n")[0]?.slice(0, 200) ?? "";
    }
    const status = res.statusCode;
    const path = new URL(url).pathname;
    const what = `${this.registry}: ${method} ${path} answered HTTP ${status}${detail ? ` (${detail})` : ""}`;
    if (status === 401) {
      const creds = await this.#creds();
      return new RegistryHttpError(
        status,
        `authentication to ${this.registry} failed${detail ? ` (${detail})` : ""}`,
        code,
        creds
          ? `check the credentials saved for ${this.registry} (docker login ${this.registry})`
          : `log in first: docker login ${this.registry}`,
      );
    }
    if (status === 403)
      return new RegistryHttpError(
        status,
        `access denied by ${this.registry}${detail ? ` (${detail})` : ""}`,
        code,
        "check that your account may read (or push to) this repository",
      );
    return new RegistryHttpError(status, what, code);
  }
}

/** Upload locations may carry state tokens in the query; debug logs show the path only. */
function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.origin}${u.pathname}${u.search ? "?…" : ""}`;
  } catch {
    return "(url)";
  }
}

/**
 * Reads a body whole, refusing more than `maxBytes` (a hostile or broken server could send without end).
 * Connection errors pass through unchanged, so the caller can tell a cut body from a wrong one.
 */
async function readLimited(
  body: AsyncIterable<Uint8Array> & { destroy(): void },
  maxBytes: number,
  what: () => string = () => "response",
): Promise<Buffer> {
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of body) {
    size += chunk.byteLength;
    if (size > maxBytes) {
      body.destroy();
      throw new UserError(`${what()}: the response is larger than ${maxBytes} bytes`, {
        hint: "this is not a manifest or token answer; check the registry address",
      });
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks, size);
}
