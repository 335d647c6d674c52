import type { Directive, EscapeChar } from "../ast.ts";
import { DockerfileError, type DockerfileSource } from "../errors.ts";

// `# name = value`, with Go's \s (ASCII blanks) around the parts, as BuildKit matches it.
const directiveRe = /^#[\t\n\f\r ]*([a-zA-Z][a-zA-Z0-9]*)[\t\n\f\r ]*=[\t\n\f\r ]*(.+?)[\t\n\f\r ]*$/d;

const known = new Set(["syntax", "escape", "check"]);

/**
 * Recognises parser directives at the top of the file. They are looked for only until the first line that
 * is not a known directive (an instruction, a blank line, an ordinary comment or an unknown directive).
 */
export class DirectiveReader {
  done = false;
  escapeChar: EscapeChar = "\\";
  readonly directives: Directive[] = [];
  private readonly source: DockerfileSource;

  constructor(source: DockerfileSource) {
    this.source = source;
  }

  /**
   * Feeds a line with its leading blanks removed (`indent` of them); returns the directive it holds, if it
   * is one. Throws for a repeated directive or an invalid escape character.
   */
  feed(text: string, line: number, indent: number): Directive | undefined {
    if (this.done) return undefined;
    const m = directiveRe.exec(text);
    const name = m?.[1]?.toLowerCase();
    if (!m || name === undefined || !known.has(name)) {
      this.done = true;
      return undefined;
    }
    const value = m[2] ?? "";
    const pos = { line, column: indent + 1 };
    const valuePos = { line, column: indent + 1 + (m.indices?.[2]?.[0] ?? 0) };
    if (this.directives.some((d) => d.name === name)) {
      throw new DockerfileError(`only one ${name} parser directive can be used`, this.source, pos, {
        hint: "remove the repeated directive",
      });
    }
    if (name === "escape") {
      if (value !== "\\" && value !== "`") {
        throw new DockerfileError(
          `invalid escape token '${value}' does not match \` or \\`,
          this.source,
          valuePos,
          {
            hint: "use `# escape=\\` (the default) or `# escape=`` (backtick, common on Windows)",
          },
        );
      }
      this.escapeChar = value;
    }
    const d: Directive = { name, nameAsWritten: m[1]!, value, pos, valuePos };
    this.directives.push(d);
    return d;
  }
}
