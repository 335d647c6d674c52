import { readFile } from "node:fs/promises";

/** /etc/hosts as BuildKit writes it: localhost and the sandbox's own name, then any --add-host entries. */
export function hostsFile(
  hostname: string,
  extraHosts: readonly { host: string; ip: string }[] = [],
): string {
  const lines = [`127.0.0.1\tlocalhost ${hostname}`, "::1\tlocalhost ip6-localhost ip6-loopback"];
  for (const h of extraHosts) lines.push(`${h.ip}\t${h.host}`);
  return `${lines.join("\n")}\n`;
}

// Docker's choice when the host has no resolver configuration of its own.
const fallbackResolvConf = "nameserver 8.8.8.8\nnameserver 8.8.4.4\n";

/** The host's resolv.conf (RUN steps share the host network by default), read once per process. */
let hostResolvConf: Promise<string> | undefined;
export function resolvConf(path = "/etc/resolv.conf"): Promise<string> {
  if (path !== "/etc/resolv.conf") return readResolvConf(path);
  hostResolvConf ??= readResolvConf(path);
  return hostResolvConf;
}

async function readResolvConf(path: string): Promise<string> {
  try {
    const text = await readFile(path, "utf8");
    return /^\s*nameserver\s/m.test(text) ? text : fallbackResolvConf;
  } catch {
    return fallbackResolvConf;
  }
}
