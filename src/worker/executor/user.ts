import { UserError } from "../../errors/user-error.ts";

/** The identity a RUN step's process gets, as the runtime spec's `process.user` wants it plus HOME. */
export interface ResolvedUser {
  uid: number;
  gid: number;
  /**
   * Supplementary groups, as BuildKit gives them: the primary group, then (only when no group was given)
   * every group of /etc/group that lists the user.
   */
  additionalGids: number[];
  /** HOME from /etc/passwd, or "/" when the user has no entry (as Docker does). */
  home: string;
}

interface PasswdEntry {
  name: string;
  uid: number;
  gid: number;
  home: string;
}

interface GroupEntry {
  name: string;
  gid: number;
  members: string[];
}

const numeric = /^[0-9]+$/;
const maxId = 2 ** 32 - 2;

function parseId(text: string): number | undefined {
  if (!numeric.test(text)) return undefined;
  const n = Number(text);
  return n <= maxId ? n : undefined;
}

/** Parses /etc/passwd text; malformed lines are skipped, as libc does. */
export function parsePasswd(text: string): PasswdEntry[] {
  const out: PasswdEntry[] = [];
  for (const line of text.split("\n")) {
    if (line === "" || line.startsWith("#")) continue;
    const f = line.split(":");
    const uid = parseId(f[2] ?? "");
    const gid = parseId(f[3] ?? "");
    if (f.length < 7 || !f[0] || uid === undefined || gid === undefined) continue;
    out.push({ name: f[0], uid, gid, home: f[5] ?? "" });
  }
  return out;
}

/** Parses /etc/group text; malformed lines are skipped. */
export function parseGroup(text: string): GroupEntry[] {
  const out: GroupEntry[] = [];
  for (const line of text.split("\n")) {
    if (line === "" || line.startsWith("#")) continue;
    const f = line.split(":");
    const gid = parseId(f[2] ?? "");
    if (f.length < 4 || !f[0] || gid === undefined) continue;
    const members = (f[3] ?? "")
      .split(",")
      .map((m) => m.trim())
      .filter(Boolean);
    out.push({ name: f[0], gid, members });
  }
  return out;
}

/** Splits `name|uid[:group|gid]`; an empty user means root. */
export function parseUserSpec(spec: string): { user: string; group: string | undefined } {
  const trimmed = spec.trim();
  const colon = trimmed.indexOf(":");
  if (colon < 0) return { user: trimmed === "" ? "0" : trimmed, group: undefined };
  const user = trimmed.slice(0, colon);
  const group = trimmed.slice(colon + 1);
  return { user: user === "" ? "0" : user, group: group === "" ? undefined : group };
}

/**
 * Resolves a USER value against the image's own /etc/passwd and /etc/group (undefined when the file is
 * missing). Numeric ids need no entry; a name must have one, or the step fails with an error that names it.
 */
export function resolveUser(spec: string, passwdText: string | undefined, groupText: string | undefined) {
  const { user, group } = parseUserSpec(spec);
  const passwd = passwdText === undefined ? [] : parsePasswd(passwdText);
  const groups = groupText === undefined ? [] : parseGroup(groupText);

  const uidNumber = parseId(user);
  const entry =
    uidNumber === undefined ? passwd.find((p) => p.name === user) : passwd.find((p) => p.uid === uidNumber);
  if (uidNumber === undefined && !entry) {
    throw new UserError(
      `unable to find user ${user}: no matching entries in the image's /etc/passwd${passwdText === undefined ? " (the file does not exist)" : ""}`,
      { hint: `create the user in an earlier step (e.g. RUN adduser -D ${user}) or give a numeric uid` },
    );
  }
  const uid = uidNumber ?? entry!.uid;
  let gid = entry?.gid ?? 0;
  let additionalGids: number[] = [];

  if (group !== undefined) {
    const gidNumber = parseId(group);
    if (gidNumber !== undefined) gid = gidNumber;
    else {
      const g = groups.find((x) => x.name === group);
      if (!g) {
        throw new UserError(
          `unable to find group ${group}: no matching entries in the image's /etc/group${groupText === undefined ? " (the file does not exist)" : ""}`,
          { hint: `create the group in an earlier step (e.g. RUN addgroup ${group}) or give a numeric gid` },
        );
      }
      gid = g.gid;
    }
  } else if (entry) {
    // Only an implicit group brings the user's memberships along (runc and Docker do the same).
    for (const g of groups) {
      if (g.members.includes(entry.name) && !additionalGids.includes(g.gid)) additionalGids.push(g.gid);
    }
  }
  // BuildKit always lists the primary group too, so `id` shows `groups=GID(...)` even for `USER uid:gid`.
  additionalGids = [gid, ...additionalGids.filter((g) => g !== gid)];
  const resolved: ResolvedUser = { uid, gid, additionalGids, home: entry?.home || "/" };
  return resolved;
}
