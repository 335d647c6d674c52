/**
 * What a build's step options (`--add-host`, `--ulimit`) may hold. The CLI reads them with these rules, and
 * the graph validator checks them again: a graph may come from a library caller or a remote client, and an
 * `extraHosts` entry is written verbatim into the step's /etc/hosts.
 */
import { isIP } from "node:net";

/** A host name as /etc/hosts may carry it (letters, digits, `.`, `_`, `-`; no blanks or newlines). */
export const hostNamePattern = /^[a-zA-Z0-9]([a-zA-Z0-9._-]*[a-zA-Z0-9])?$/;

export function isHostName(host: string): boolean {
  return hostNamePattern.test(host);
}

export function isIpAddress(ip: string): boolean {
  return isIP(ip) !== 0;
}

/** Docker's ulimit names (go-units ulimit.go); each is RLIMIT_<NAME> in the runtime spec. */
export const ulimitNames: readonly string[] = [
  "core",
  "cpu",
  "data",
  "fsize",
  "locks",
  "memlock",
  "msgqueue",
  "nice",
  "nofile",
  "nproc",
  "rss",
  "rtprio",
  "rttime",
  "sigpending",
  "stack",
];
