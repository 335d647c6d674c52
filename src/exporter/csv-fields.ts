import { UserError } from "../errors/user-error.ts";

/**
 * Splits an `-o` value into its comma-separated fields as buildx reads it (a CSV record): a double-quoted
 * stretch may hold commas (`"name=a:1,b:1"`), and `""` inside quotes is one quote. Quotes may also start
 * inside a field (`name="a:1,b:1"`), which Go's strict CSV reader refuses; accepting it costs nothing and is
 * what people type.
 */
export function splitCsvFields(text: string, flag: string): string[] {
  const fields: string[] = [];
  let current = "";
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        current += '"';
        i++;
      } else if (c === '"') {
        quoted = false;
      } else {
        current += c;
      }
    } else if (c === '"') {
      quoted = true;
    } else if (c === ",") {
      fields.push(current);
      current = "";
    } else {
      current += c;
    }
  }
  if (quoted) {
    throw new UserError(`${flag} ${JSON.stringify(text)}: a double quote is not closed`, {
      hint: `quote a whole field that holds commas, e.g. ${flag} 'type=image,"name=reg/a:1,reg/b:1"'`,
    });
  }
  fields.push(current);
  return fields;
}
