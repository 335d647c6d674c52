/**
 * The two parts of undici the registry client uses: the Agent (connection pools) and the request API.
 * undici's index also loads fetch, WebSocket, EventSource, its HTTP cache and the mock agents, about half
 * of its load time (~25 ms of CPU in the bundle) in every build that talks to a registry. The index gives
 * dispatchers their request method by the same prototype assignment as below; a change of these paths in
 * an undici release fails the bundle and the type check, loudly.
 */
import type { Dispatcher, Agent as UndiciAgent } from "undici";
// @ts-expect-error as above
import api from "undici/lib/api/index.js";
// @ts-expect-error undici ships no declarations for its internal modules (the public types are above)
import AgentImpl from "undici/lib/dispatcher/agent.js";
// @ts-expect-error as above
import DispatcherImpl from "undici/lib/dispatcher/dispatcher.js";

Object.assign((DispatcherImpl as { prototype: object }).prototype, api);

export const Agent = AgentImpl as typeof UndiciAgent;
export type Agent = UndiciAgent;

export interface HttpRequest {
  method: Dispatcher.HttpMethod;
  headers?: Record<string, string>;
  body?: Dispatcher.DispatchOptions["body"];
}

/** One request to an absolute URL through `dispatcher` (undici's `request(url, { dispatcher, … })`). */
export function httpRequest(
  dispatcher: Dispatcher,
  url: string | URL,
  options: HttpRequest,
): Promise<Dispatcher.ResponseData> {
  const u = typeof url === "string" ? new URL(url) : url;
  return dispatcher.request({
    origin: u.origin,
    path: `${u.pathname}${u.search}`,
    method: options.method,
    ...(options.headers ? { headers: options.headers } : {}),
    body: options.body ?? null,
  });
}
