/**
 * The socket a `RUN --mount=type=ssh` step sees: one of our own, in a private 0700 directory on /dev/shm,
 * owned and moded as the mount asks, that relays every connection byte for byte to the client's agent.
 * The client's socket is never bind-mounted itself (we must not chown or chmod a user's agent socket, and
 * the step must not learn where it lives), and no key ever passes through here: only the agent protocol's
 * requests and signatures, which are never logged.
 */
import { lchown, rm } from "node:fs/promises";
import { createConnection, createServer, type Server, type Socket } from "node:net";
import { join } from "node:path";
import { UserError } from "../errors/user-error.ts";
import { chmodNoFollow } from "../fsutil/no-follow.ts";
import { makePrivateDir } from "../fsutil/private-dir.ts";

export interface AgentProxy {
  /** Host path of the socket to bind-mount into the step. */
  socket: string;
  /** Stops listening, cuts open connections and removes the directory. */
  close(): Promise<void>;
}

async function privateDir(): Promise<string> {
  // The directory is 0700: no other user of the machine can reach the socket inside.
  const dir = await makePrivateDir("sshRelay");
  if (dir !== undefined) return dir;
  throw new UserError("cannot create a private directory for the forwarded ssh agent", {
    hint: "make /dev/shm or $TMPDIR writable",
  });
}

export async function startAgentProxy(
  upstream: string,
  owner: { uid: number; gid: number; mode: number },
): Promise<AgentProxy> {
  const dir = await privateDir();
  const socket = join(dir, "agent.sock");
  const open = new Set<Socket>();
  const server: Server = createServer((client) => {
    const agent = createConnection(upstream);
    open.add(client);
    open.add(agent);
    const end = () => {
      client.destroy();
      agent.destroy();
      open.delete(client);
      open.delete(agent);
    };
    client.on("error", end).on("close", end);
    agent.on("error", end).on("close", end);
    client.pipe(agent);
    agent.pipe(client);
  });
  try {
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(socket, () => {
        server.off("error", reject);
        resolve();
      });
    });
    await lchown(socket, owner.uid, owner.gid);
    chmodNoFollow(socket, owner.mode);
  } catch (e) {
    server.close();
    await rm(dir, { recursive: true, force: true });
    throw e;
  }
  let closing: Promise<void> | undefined;
  return {
    socket,
    close() {
      closing ??= (async () => {
        for (const s of open) s.destroy();
        await new Promise<void>((resolve) => server.close(() => resolve()));
        await rm(dir, { recursive: true, force: true });
      })();
      return closing;
    },
  };
}
