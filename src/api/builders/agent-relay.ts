/**
 * `--ssh` on an ssh node: a step's `RUN --mount=type=ssh` reaches the client's agent through the build
 * channel. The node listens on a socket of its own (a 0700 private dir) and relays each agent request
 * message it reads there as a wire request; the client hands it to its agent and sends back the one
 * answer. The agent protocol is request/answer, so nothing but those messages travels: no key leaves the
 * client's agent, and nothing of one is written on the node.
 *
 * The client answers only for the ids it forwards, and only the requests a step needs of an agent (list
 * keys, sign, extensions such as session-bind): a node can never add, remove or lock the user's keys.
 */
import { rm } from "node:fs/promises";
import { createConnection, createServer, type Server, type Socket } from "node:net";
import { join } from "node:path";
import { UserError } from "../../errors/user-error.ts";
import { makePrivateDir } from "../../fsutil/private-dir.ts";
import type { SshAgentProvider } from "../../solver/types.ts";
import type { Wire } from "./wire.ts";
import { wireError } from "./wire-values.ts";

/** OpenSSH's bound on one agent message (AGENT_MAX_LEN). */
const MAX_MESSAGE = 256 * 1024;
/** SSH_AGENTC_REQUEST_IDENTITIES, SSH_AGENTC_SIGN_REQUEST, SSH_AGENTC_EXTENSION. */
const RELAYED = new Set([11, 13, 27]);
/** SSH_AGENT_FAILURE, framed. */
const FAILURE = Buffer.from([0, 0, 0, 1, 5]);

/** Cuts a socket's bytes into agent messages (each with its 4-byte length). */
class AgentMessages {
  #buffer = Buffer.alloc(0);
  readonly #ready: Buffer[] = [];
  #waiting: { resolve: (b: Buffer) => void; reject: (e: Error) => void } | undefined;
  #ended: Error | undefined;

  constructor(socket: Socket, onMessage?: (m: Buffer) => void) {
    socket.on("data", (chunk: Buffer) => {
      this.#buffer = Buffer.concat([this.#buffer, chunk]);
      while (this.#buffer.length >= 4) {
        const len = this.#buffer.readUInt32BE(0);
        if (len < 1 || len > MAX_MESSAGE) {
          socket.destroy();
          this.#end(new Error(`an agent message of ${len} bytes`));
          return;
        }
        if (this.#buffer.length < 4 + len) break;
        const m = this.#buffer.subarray(0, 4 + len);
        this.#buffer = this.#buffer.subarray(4 + len);
        if (onMessage) onMessage(m);
        else if (this.#waiting) {
          this.#waiting.resolve(m);
          this.#waiting = undefined;
        } else this.#ready.push(m);
      }
    });
    socket.on("close", () => this.#end(new Error("the agent closed the connection")));
    socket.on("error", (e) => this.#end(e));
  }

  #end(e: Error): void {
    this.#ended ??= e;
    this.#waiting?.reject(e);
    this.#waiting = undefined;
  }

  next(): Promise<Buffer> {
    const m = this.#ready.shift();
    if (m) return Promise.resolve(m);
    if (this.#ended) return Promise.reject(this.#ended);
    return new Promise((resolve, reject) => {
      this.#waiting = { resolve, reject };
    });
  }
}

/** One framed agent message from the other side's base64, or undefined when it is not one. */
function message(v: unknown): Buffer | undefined {
  if (typeof v !== "string" || v.length > ((MAX_MESSAGE + 4) * 4) / 3 + 4) return undefined;
  const b = Buffer.from(v, "base64");
  return b.length >= 5 && b.readUInt32BE(0) === b.length - 4 ? b : undefined;
}

/** The client's half: answers the node's agent requests for the forwarded ids from the agents here. */
export function relayAgentsForNode(wire: Wire, ids: readonly string[], agents: SshAgentProvider): void {
  const conns = new Map<number, { socket: Socket; messages: AgentMessages; turn: Promise<unknown> }>();
  const open = async (agent: string, conn: number) => {
    let c = conns.get(conn);
    if (!c) {
      const path = await agents.socket(agent);
      if (path === undefined) throw wireError(`a request for an ssh agent not forwarded (${agent})`);
      const socket = createConnection(path);
      c = { socket, messages: new AgentMessages(socket), turn: Promise.resolve() };
      conns.set(conn, c);
    }
    return c;
  };
  wire.handle("agent", async (msg) => {
    const agent = msg.agent;
    const conn = msg.conn;
    if (typeof agent !== "string" || !ids.includes(agent))
      throw wireError("a request for an ssh agent this build does not forward");
    if (typeof conn !== "number" || !Number.isSafeInteger(conn) || conn < 0)
      throw wireError("an agent request without its connection");
    const request = message(msg.data);
    if (!request) throw wireError("an agent request that is not one message");
    if (!RELAYED.has(request[4]!)) return { data: FAILURE.toString("base64") };
    const c = await open(agent, conn);
    // One request at a time per connection: the agent answers in order.
    const answer = c.turn.then(async () => {
      c.socket.write(request);
      return c.messages.next();
    });
    c.turn = answer.catch(() => {});
    return { data: (await answer).toString("base64") };
  });
  wire.on("agent-close", (msg) => {
    const c = typeof msg.conn === "number" ? conns.get(msg.conn) : undefined;
    if (!c) return;
    conns.delete(msg.conn as number);
    c.socket.destroy();
  });
  wire.onClose(() => {
    for (const c of conns.values()) c.socket.destroy();
    conns.clear();
  });
}

export interface NodeAgents extends SshAgentProvider {
  close(): Promise<void>;
}

/** The node's half: a socket per forwarded id, each connection's requests relayed to the client. */
export function nodeAgents(wire: Wire, ids: readonly string[]): NodeAgents {
  const servers = new Map<string, Promise<{ server: Server; path: string }>>();
  const sockets = new Set<Socket>();
  let dir: Promise<string> | undefined;
  let nextConn = 0;
  const listen = async (id: string) => {
    dir ??= makePrivateDir("nodeAgent").then((d) => {
      if (!d)
        throw new UserError("no private directory for the ssh agent relay on the node", {
          hint: "make /dev/shm or $TMPDIR writable there",
        });
      return d;
    });
    const path = join(await dir, `agent-${servers.size}.sock`);
    const server = createServer((socket) => {
      const conn = nextConn++;
      sockets.add(socket);
      let turn: Promise<unknown> = Promise.resolve();
      new AgentMessages(socket, (m) => {
        turn = turn.then(async () => {
          const a = await wire.request("agent", { agent: id, conn, data: m.toString("base64") });
          const answer = message(a.data);
          if (!answer) throw wireError("an agent answer that is not one message");
          socket.write(answer);
        });
        turn.catch(() => socket.destroy());
      });
      socket.on("error", () => {});
      socket.on("close", () => {
        sockets.delete(socket);
        wire.event("agent-close", { conn }).catch(() => {});
      });
    });
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(path, () => resolve());
    });
    return { server, path };
  };
  return {
    has: (id) => ids.includes(id),
    async socket(id) {
      if (!ids.includes(id)) return undefined;
      let s = servers.get(id);
      if (!s) {
        s = listen(id);
        servers.set(id, s);
      }
      return (await s).path;
    },
    async close() {
      for (const s of sockets) s.destroy();
      for (const s of servers.values()) {
        const got = await s.catch(() => undefined);
        await new Promise<void>((resolve) => (got ? got.server.close(() => resolve()) : resolve()));
      }
      servers.clear();
      const d = await dir?.catch(() => undefined);
      if (d) await rm(d, { recursive: true, force: true }).catch(() => {});
    },
  };
}
