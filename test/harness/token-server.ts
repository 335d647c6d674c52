import { createHash, createPrivateKey, randomBytes, sign, X509Certificate } from "node:crypto";
import { readFile } from "node:fs/promises";
import {
  createServer as createHttpServer,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from "node:http";
import { createServer as createHttpsServer } from "node:https";
import type { AddressInfo } from "node:net";

/**
 * A small bearer-token server in the shape of Docker's (docker/distribution's token auth spec): it checks
 * basic credentials, and signs JWTs that the distribution registry accepts. The registry trusts the signing
 * certificate through `auth.token.rootcertbundle`; distribution 2.8 finds the key by the JWT header's `x5c`
 * chain (a `kid` would have to be libtrust's fingerprint of the key, which `x5c` spares us from computing).
 *
 * It records every scope it was asked for, so tests can assert that a client asked for exactly
 * `repository:app:pull,push` and nothing broader.
 */

export interface TokenRequest {
  method: "GET" | "POST";
  /** The authenticated user, or undefined for an anonymous request. */
  account: string | undefined;
  service: string | undefined;
  /** Scopes exactly as sent (`repository:library/busybox:pull`). */
  scopes: string[];
  /** "password", "refresh_token" for POST (OAuth2) requests; "basic" or "anonymous" for GET. */
  grant: string;
  /** The HTTP status the token server answered with. */
  status: number;
}

export interface AccessEntry {
  type: string;
  name: string;
  actions: string[];
}

/** Decides which of the requested actions a user gets; `account` is undefined for anonymous requests. */
export type GrantPolicy = (account: string | undefined, requested: AccessEntry) => string[];

export interface TokenServerOptions {
  service: string;
  issuer: string;
  signingCert: string;
  signingKey: string;
  users: Record<string, string>;
  /** Default: authenticated users get every action they ask for; anonymous users get nothing. */
  grant?: GrantPolicy;
  tokenTtlSeconds?: number;
  /**
   * How the JWT header names the signing key: the certificate itself (`x5c`, default) or libtrust's key id
   * (`kid`). distribution 2.8 accepts both when the certificate is in its rootcertbundle.
   */
  keyHeader?: "x5c" | "kid";
  /** Serve HTTPS with this certificate (the registry's), or plain HTTP when absent. */
  tls?: { cert: string; key: string };
}

export interface TokenServer {
  /** The `realm` the registry's challenge names, e.g. http://127.0.0.1:PORT/token */
  realm: string;
  requests: TokenRequest[];
  /** Every scope requested by a successful (200) request, in order. */
  scopesRequested(): string[];
  /** Clears the recorded requests (e.g. after a fixture push, before the step under test). */
  reset(): void;
  stop(): Promise<void>;
}

const grantEverythingToUsers: GrantPolicy = (account, requested) => (account ? requested.actions : []);

export function parseScope(scope: string): AccessEntry | undefined {
  const first = scope.indexOf(":");
  const last = scope.lastIndexOf(":");
  if (first < 0 || last === first) return undefined;
  return {
    type: scope.slice(0, first),
    name: scope.slice(first + 1, last),
    actions: scope
      .slice(last + 1)
      .split(",")
      .filter((a) => a !== ""),
  };
}

/**
 * docker/libtrust's key id: the SHA-256 of the DER public key, first 240 bits, base32, in 12 groups of 4
 * joined by ':'. distribution looks up a JWT's `kid` among its root certificates' keys by this id.
 */
export function libtrustKeyId(spkiDer: Buffer): string {
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
  const bytes = createHash("sha256").update(spkiDer).digest().subarray(0, 30);
  let bits = "";
  for (const b of bytes) bits += b.toString(2).padStart(8, "0");
  let out = "";
  for (let i = 0; i < bits.length; i += 5) out += alphabet[Number.parseInt(bits.slice(i, i + 5), 2)];
  return out.match(/.{4}/g)!.join(":");
}

function base64url(data: Buffer | string): string {
  return Buffer.from(data).toString("base64url");
}

export async function startTokenServer(options: TokenServerOptions): Promise<TokenServer> {
  const certPem = await readFile(options.signingCert, "utf8");
  const key = createPrivateKey(await readFile(options.signingKey));
  const cert = new X509Certificate(certPem);
  const keyHeader =
    options.keyHeader === "kid"
      ? { kid: libtrustKeyId(cert.publicKey.export({ type: "spki", format: "der" })) }
      : { x5c: [cert.raw.toString("base64")] };
  const grant = options.grant ?? grantEverythingToUsers;
  const ttl = options.tokenTtlSeconds ?? 300;
  const requests: TokenRequest[] = [];
  const refreshTokens = new Map<string, string>();

  function signToken(account: string | undefined, access: AccessEntry[]): string {
    const header = { typ: "JWT", alg: "ES256", ...keyHeader };
    const now = Math.floor(Date.now() / 1000);
    const claims = {
      iss: options.issuer,
      sub: account ?? "",
      aud: options.service,
      exp: now + ttl,
      nbf: now - 10,
      iat: now,
      jti: randomBytes(12).toString("hex"),
      access,
    };
    const input = `${base64url(JSON.stringify(header))}.${base64url(JSON.stringify(claims))}`;
    // JWS ES256 wants the raw r||s signature, not DER.
    const sig = sign("sha256", Buffer.from(input), { key, dsaEncoding: "ieee-p1363" });
    return `${input}.${base64url(sig)}`;
  }

  function grantAll(account: string | undefined, scopes: string[]): AccessEntry[] {
    const out: AccessEntry[] = [];
    for (const s of scopes) {
      const requested = parseScope(s);
      if (!requested) continue;
      const actions = grant(account, requested);
      if (actions.length) out.push({ ...requested, actions });
    }
    return out;
  }

  function checkBasic(header: string | undefined): { ok: boolean; account: string | undefined } {
    if (!header?.toLowerCase().startsWith("basic ")) return { ok: true, account: undefined };
    const decoded = Buffer.from(header.slice(6).trim(), "base64").toString("utf8");
    const colon = decoded.indexOf(":");
    const user = decoded.slice(0, colon);
    const pass = decoded.slice(colon + 1);
    return colon > 0 && options.users[user] === pass
      ? { ok: true, account: user }
      : { ok: false, account: user };
  }

  function reply(res: ServerResponse, status: number, body: unknown): void {
    const text = JSON.stringify(body);
    res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(text) });
    res.end(text);
  }

  function denied(res: ServerResponse): void {
    reply(res, 401, { errors: [{ code: "UNAUTHORIZED", message: "authentication required" }] });
  }

  function issue(
    res: ServerResponse,
    account: string | undefined,
    scopes: string[],
    withRefresh: boolean,
  ): void {
    const token = signToken(account, grantAll(account, scopes));
    const body: Record<string, unknown> = {
      token,
      access_token: token,
      expires_in: ttl,
      issued_at: new Date().toISOString(),
    };
    if (withRefresh && account) {
      const refresh = randomBytes(16).toString("hex");
      refreshTokens.set(refresh, account);
      body.refresh_token = refresh;
    }
    reply(res, 200, body);
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", "http://token");
    if (url.pathname !== "/token") return reply(res, 404, { errors: [{ code: "NOT_FOUND" }] });
    if (req.method === "GET") {
      const scopes = url.searchParams.getAll("scope").flatMap((s) => s.split(" ").filter(Boolean));
      const { ok, account } = checkBasic(req.headers.authorization);
      const record: TokenRequest = {
        method: "GET",
        account,
        service: url.searchParams.get("service") ?? undefined,
        scopes,
        grant: account ? "basic" : "anonymous",
        status: ok ? 200 : 401,
      };
      requests.push(record);
      if (!ok) return denied(res);
      return issue(res, account, scopes, url.searchParams.get("offline_token") === "true");
    }
    if (req.method === "POST") {
      const chunks: Buffer[] = [];
      for await (const c of req) chunks.push(c as Buffer);
      const form = new URLSearchParams(Buffer.concat(chunks).toString("utf8"));
      const scopes = (form.get("scope") ?? "").split(" ").filter(Boolean);
      const grantType = form.get("grant_type") ?? "";
      let account: string | undefined;
      let ok = false;
      if (grantType === "password") {
        account = form.get("username") ?? undefined;
        ok = account !== undefined && options.users[account] === form.get("password");
      } else if (grantType === "refresh_token") {
        account = refreshTokens.get(form.get("refresh_token") ?? "");
        ok = account !== undefined;
      }
      requests.push({
        method: "POST",
        account,
        service: form.get("service") ?? undefined,
        scopes,
        grant: grantType,
        status: ok ? 200 : 401,
      });
      if (!ok) return denied(res);
      return issue(res, account, scopes, grantType === "password");
    }
    res.writeHead(405, { allow: "GET, POST" }).end();
  }

  const listener = (req: IncomingMessage, res: ServerResponse) => {
    handle(req, res).catch((e) => {
      if (!res.headersSent) reply(res, 500, { errors: [{ code: "UNKNOWN", message: String(e) }] });
      else res.destroy();
    });
  };
  const server: Server = options.tls
    ? createHttpsServer(
        { cert: await readFile(options.tls.cert), key: await readFile(options.tls.key) },
        listener,
      )
    : createHttpServer(listener);
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", resolve);
  });
  const { port } = server.address() as AddressInfo;

  return {
    realm: `${options.tls ? "https" : "http"}://127.0.0.1:${port}/token`,
    requests,
    scopesRequested: () => requests.filter((r) => r.status === 200).flatMap((r) => r.scopes),
    reset: () => {
      requests.length = 0;
    },
    stop: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
