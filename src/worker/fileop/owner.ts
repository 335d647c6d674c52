/**
 * `--chown` (and a mkdir/mkfile owner) to numeric ids. Names are looked up in the DESTINATION tree's
 * /etc/passwd and /etc/group, as BuildKit does: the files a COPY writes belong to the image they land in.
 * As in BuildKit, a numeric user without a group gives gid = uid, and a named user without a group gets
 * that user's primary group. Unlike BuildKit, which silently falls back to 0 for an unknown name, an
 * unknown name is an error: root-owned files where the user asked for another owner hurt later.
 */
import { parseGroup, parsePasswd } from "../executor/user.ts";
import type { ActionEnv } from "./context.ts";
import { fileOpError } from "./errors.ts";
import { readFileInRoot } from "./read-in-root.ts";
import type { Ids } from "./root-path.ts";
import type { FileOwner } from "./types.ts";

const numeric = /^[0-9]+$/;
const maxId = 2 ** 32 - 2;

function id(text: string): number | undefined {
  if (!numeric.test(text)) return undefined;
  const n = Number(text);
  return n <= maxId ? n : undefined;
}

export function resolveOwner(
  owner: FileOwner | undefined,
  destRoot: string,
  env: ActionEnv,
): Ids | undefined {
  if (owner === undefined) return undefined;
  const userText = owner.user === "" ? "0" : owner.user;
  let uid = id(userText);
  let gid = uid;
  if (uid === undefined) {
    const passwdText = readFileInRoot(destRoot, "/etc/passwd");
    const entry = parsePasswd(passwdText ?? "").find((p) => p.name === userText);
    if (!entry) {
      throw fileOpError(
        env,
        `unable to find user ${userText}: no matching entries in the destination's /etc/passwd${passwdText === undefined ? " (the file does not exist)" : ""}`,
        `create the user in an earlier step (e.g. RUN adduser -D ${userText}) or give a numeric uid, e.g. --chown=1000:1000`,
      );
    }
    uid = entry.uid;
    gid = entry.gid;
  }
  if (owner.group !== undefined && owner.group !== "") {
    gid = id(owner.group);
    if (gid === undefined) {
      const groupText = readFileInRoot(destRoot, "/etc/group");
      const entry = parseGroup(groupText ?? "").find((g) => g.name === owner.group);
      if (!entry) {
        throw fileOpError(
          env,
          `unable to find group ${owner.group}: no matching entries in the destination's /etc/group${groupText === undefined ? " (the file does not exist)" : ""}`,
          `create the group in an earlier step (e.g. RUN addgroup ${owner.group}) or give a numeric gid`,
        );
      }
      gid = entry.gid;
    }
  }
  return { uid, gid: gid! };
}
