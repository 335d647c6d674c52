/**
 * Private scratch directories outside the state root, on memory where there is some (/dev/shm, else
 * $TMPDIR): secret files a RUN step mounts, forwarded ssh-agent sockets. Each is 0700 and named
 * `PREFIX` + uniqueSuffix(), so the pid in its name tells a later build whether its maker is gone: what a
 * killed build left (a secret, a socket) is removed by the next build, never what a live one uses.
 */
import { constants } from "node:fs";
import { access, mkdir, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { uniqueSuffix } from "./atomic-file.ts";
import { orphanedTemp } from "./orphans.ts";

/** Where private dirs go, first choice first: /dev/shm keeps a secret off every disk. */
export function privateDirBases(): string[] {
  return ["/dev/shm", tmpdir()];
}

/** What private dirs hold, and the name prefix of each kind. */
export const privateDirPrefixes = {
  /** Secret files a RUN step mounts. */
  secret: "polyarch-secret-",
  /** The relay socket a step's ssh mount reaches the agent through. */
  sshRelay: "polyarch-ssh-relay-",
  /** An ssh-agent polyarch started for key files given to --ssh. */
  sshAgent: "polyarch-ssh-agent-",
  /** On an ssh node: the sockets a farm build's --ssh agents are relayed to the client through. */
  nodeAgent: "polyarch-node-agent-",
} as const;

export type PrivateDirKind = keyof typeof privateDirPrefixes;

/** A fresh 0700 directory `BASE/PREFIX<pid>-<random>`; undefined when no base is writable. */
export async function makePrivateDir(kind: PrivateDirKind): Promise<string | undefined> {
  const prefix = privateDirPrefixes[kind];
  for (const base of privateDirBases()) {
    const dir = join(base, `${prefix}${uniqueSuffix()}`);
    try {
      await mkdir(dir, { mode: 0o700 });
      return dir;
    } catch {
      // try the next place
    }
  }
  return undefined;
}

/** Removes the private dirs (of every kind) whose maker is gone. */
export async function reapPrivateDirs(): Promise<void> {
  const prefixes = Object.values(privateDirPrefixes);
  // Every build runs this: $TMPDIR (often a large /tmp) is read only when private dirs can land there,
  // i.e. when the first choice is not a writable directory.
  const [first, ...rest] = privateDirBases();
  const firstUsable = await access(first!, constants.W_OK).then(
    () => true,
    () => false,
  );
  for (const base of firstUsable ? [first!] : rest) {
    const names = await readdir(base).catch(() => [] as string[]);
    for (const name of names) {
      if (!prefixes.some((p) => name.startsWith(p))) continue;
      const path = join(base, name);
      if (await orphanedTemp(path, name)) await rm(path, { recursive: true, force: true }).catch(() => {});
    }
  }
}
