import type { CredentialSource } from "../../registry/credentials.ts";
import { type SessionMethod, unaryMethod } from "./rpc.ts";

/**
 * BuildKit's Auth service, Credentials only: the daemon asks for a registry's login when the registry
 * challenges it, then fetches tokens itself. FetchToken and GetTokenAuthority are left unimplemented, which
 * BuildKit takes as "do it yourself with the credentials".
 */
export function authMethod(credentials: CredentialSource): SessionMethod {
  return unaryMethod<{ host: string }, { username: string; secret: string }>(
    "/moby.filesync.v1.Auth/Credentials",
    "CredentialsRequest",
    "CredentialsResponse",
    async ({ host }) => {
      const c = await credentials.get(host === "registry-1.docker.io" ? "docker.io" : host);
      if (!c) return { username: "", secret: "" };
      // An identity (refresh) token travels as the secret with no user name, as Docker's CLI sends it.
      if (c.identityToken) return { username: "", secret: c.identityToken };
      return { username: c.username ?? "", secret: c.password ?? "" };
    },
  );
}
