/**
 * COPY/ADD `--chmod`, applied to every copied file and directory (never to a symlink's own mode, which
 * Linux ignores), as BuildKit does. A number replaces all 07777 bits. A symbolic mode (`u+x`, `go-w`,
 * `a=rX,u+w`) is applied to each entry's own mode the way chmod(1) does: clauses in order, `X` gives
 * execute to directories and to files that already have some execute bit, `s` is setuid/setgid, `t`
 * sticky, `g=u` copies a class. A clause without `ugoa` means `a`, without the umask (an image build has
 * none to honour).
 */
import { UserError } from "../../errors/user-error.ts";

/** The mode (07777 bits) an entry gets, from its source mode (07777 bits) and whether it is a directory. */
export type ModeFn = (mode: number, isDir: boolean) => number;

interface Action {
  op: "+" | "-" | "=";
  perms: string;
  copyFrom?: "u" | "g" | "o";
}

interface Clause {
  affected: number;
  actions: Action[];
}

const whoBits: Record<string, number> = { u: 0o4700, g: 0o2070, o: 0o1007, a: 0o7777 };
const classShift: Record<string, number> = { u: 6, g: 3, o: 0 };

export function compileMode(spec: number | string | undefined): ModeFn | undefined {
  if (spec === undefined) return undefined;
  if (typeof spec === "number") {
    const mode = spec & 0o7777;
    return () => mode;
  }
  const clauses = spec.split(",").map((text) => parseClause(text, spec));
  return (mode, isDir) => {
    let m = mode & 0o7777;
    for (const clause of clauses) {
      for (const action of clause.actions) {
        let bits = 0;
        if (action.copyFrom !== undefined) {
          const triplet = (m >> classShift[action.copyFrom]!) & 0o7;
          bits = (triplet << 6) | (triplet << 3) | triplet;
        } else {
          for (const p of action.perms) {
            if (p === "r") bits |= 0o444;
            else if (p === "w") bits |= 0o222;
            else if (p === "x") bits |= 0o111;
            else if (p === "X") bits |= isDir || (m & 0o111) !== 0 ? 0o111 : 0;
            else if (p === "s") bits |= 0o6000;
            else if (p === "t") bits |= 0o1000;
          }
        }
        bits &= clause.affected;
        if (action.op === "+") m |= bits;
        else if (action.op === "-") m &= ~bits;
        else m = (m & ~clause.affected) | bits;
      }
    }
    return m & 0o7777;
  };
}

function parseClause(text: string, spec: string): Clause {
  const match = /^([ugoa]*)((?:[-+=](?:[ugo]|[rwxXst]*))+)$/.exec(text);
  if (!match) {
    throw new UserError(`invalid chmod parameter '${spec}': '${text}' is not a symbolic mode`, {
      hint: "use an octal mode such as 0755 or a symbolic one such as u+x,go-w",
    });
  }
  const who = match[1] === "" ? "a" : match[1]!;
  let affected = 0;
  for (const w of who) affected |= whoBits[w]!;
  const actions: Action[] = [];
  for (const m of match[2]!.matchAll(/([-+=])([ugo]|[rwxXst]*)/g)) {
    const op = m[1] as Action["op"];
    const perms = m[2]!;
    if (perms === "u" || perms === "g" || perms === "o") actions.push({ op, perms: "", copyFrom: perms });
    else actions.push({ op, perms });
  }
  return { affected, actions };
}
