/**
 * PAX extended header records (POSIX.1-2001 "x" entries): `LEN KEY=VALUE\n`, where LEN counts the whole
 * record in bytes including its own digits. Values are bytes, not text: SCHILY.xattr values such as
 * security.capability are binary, which is why this does not go through a string-based encoder.
 */
import { UserError } from "../../errors/user-error.ts";

export type PaxRecords = Map<string, Buffer>;

export const xattrPaxPrefix = "SCHILY.xattr.";

/** Encodes records in the order given (callers pass a sorted order so that output is deterministic). */
export function encodePax(records: Iterable<readonly [string, Uint8Array]>): Buffer {
  const parts: Buffer[] = [];
  for (const [key, value] of records) {
    if (key.includes("=") || key.includes("\0") || key === "") {
      throw new Error(`PAX key ${JSON.stringify(key)} cannot be encoded`);
    }
    const body = Buffer.concat([Buffer.from(` ${key}=`), value, newline]);
    let digits = String(body.length).length;
    if (String(body.length + digits).length > digits) digits += 1;
    parts.push(Buffer.from(String(body.length + digits)), body);
  }
  return Buffer.concat(parts);
}

const newline = Buffer.from("\n");

/** Decodes a PAX header body; `where` names the tar entry for errors. */
export function decodePax(data: Buffer, where: string): PaxRecords {
  const records: PaxRecords = new Map();
  let offset = 0;
  while (offset < data.length) {
    // Some writers pad the body with NULs after the last record.
    if (data[offset] === 0) break;
    const space = data.indexOf(0x20, offset);
    const length = space < 0 ? Number.NaN : Number(data.subarray(offset, space).toString("latin1"));
    if (!Number.isSafeInteger(length) || length <= 0 || offset + length > data.length) {
      throw new UserError(`layer tar: malformed PAX header before ${where}`, {
        hint: "the layer is corrupt or was not written by a POSIX tar",
      });
    }
    const record = data.subarray(space + 1, offset + length);
    const equals = record.indexOf(0x3d);
    if (equals < 0 || record[record.length - 1] !== 0x0a) {
      throw new UserError(`layer tar: malformed PAX record before ${where}`, {
        hint: "the layer is corrupt or was not written by a POSIX tar",
      });
    }
    const key = record.subarray(0, equals).toString("utf8");
    records.set(key, Buffer.from(record.subarray(equals + 1, record.length - 1)));
    offset += length;
  }
  return records;
}

/** Formats a time as PAX does: seconds, then up to 9 fraction digits without trailing zeros. */
export function formatPaxTime(sec: number, nsec: number): string {
  if (nsec === 0) return String(sec);
  const fraction = String(nsec).padStart(9, "0").replace(/0+$/, "");
  return `${sec}.${fraction}`;
}

export function parsePaxTime(text: string): { sec: number; nsec: number } | null {
  const m = /^(-?)(\d+)(?:\.(\d*))?$/.exec(text);
  if (!m) return null;
  const whole = Number(m[2]);
  const nsec = Number((m[3] ?? "").slice(0, 9).padEnd(9, "0"));
  if (!Number.isSafeInteger(whole)) return null;
  if (m[1] === "-") return nsec === 0 ? { sec: -whole, nsec: 0 } : { sec: -whole - 1, nsec: 1e9 - nsec };
  return { sec: whole, nsec };
}
