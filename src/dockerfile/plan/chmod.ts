/**
 * A COPY/ADD `--chmod` value: an octal number up to 07777, or a symbolic mode (`u+x`, `go-w,a+r`), which the
 * worker applies to each copied file. Returns the parsed mode, or an error message.
 */
export function parseChmod(value: string): { mode: number | string } | { error: string } {
  const nonOctal = `invalid chmod parameter: '${value}'. it should be octal string and between 0 and 07777`;
  if (/^[0-9]+$/.test(value)) {
    if (!/^[0-7]+$/.test(value)) return { error: nonOctal };
    const n = Number.parseInt(value, 8);
    return n > 0o7777 ? { error: nonOctal } : { mode: n };
  }
  const clause = /^[ugoa]*(?:[-+=](?:[rwxXst]*|[ugo]))+$/;
  if (value !== "" && value.split(",").every((c) => clause.test(c))) return { mode: value };
  // BuildKit's words; a symbolic mode (u+x, go-w) is accepted too.
  return { error: nonOctal };
}
