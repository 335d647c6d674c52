/**
 * The `# syntax=` directive. BuildKit pulls the image it names and runs it as the frontend; polyarch runs
 * no external frontends. It serves the official Dockerfile frontend's names itself — `docker/dockerfile`
 * (and `docker/dockerfile-upstream`), with or without `docker.io/`, any tag, with or without a digest — and
 * honours their labs channel (a tag with `labs`, e.g. `1-labs`); any other image is an error saying so,
 * rather than a build that silently means something else.
 *
 * The `BUILDKIT_SYNTAX` build arg names the frontend in place of the directive (BuildKit's frontend reads
 * it first and then ignores the file's line), under the same rules.
 */

import { UserError } from "../../errors/user-error.ts";
import type { Directive } from "../ast.ts";
import { DockerfileError, type DockerfileSource } from "../errors.ts";

const official =
  /^(?:(?:docker\.io|index\.docker\.io|registry-1\.docker\.io)\/)?docker\/dockerfile(?:-upstream)?(?::([A-Za-z0-9_][A-Za-z0-9_.-]{0,127}))?(?:@sha256:[a-f0-9]{64})?$/;

/** Whether the file asks for the labs channel; throws when it names a frontend polyarch does not serve. */
export function syntaxChannel(
  directive: Directive | undefined,
  source: DockerfileSource,
  buildArg?: string,
): { labs: boolean } {
  if (buildArg !== undefined && buildArg !== "") {
    const m = official.exec(buildArg);
    if (!m) {
      throw new UserError(
        `polyarch does not run external frontends: --build-arg BUILDKIT_SYNTAX=${buildArg} names a frontend image other than docker/dockerfile`,
        {
          hint: "polyarch's built-in frontend is docker/dockerfile:1 (and :1-labs): name one of those, or drop the build arg; a custom frontend needs BuildKit (docker buildx build)",
        },
      );
    }
    return { labs: isLabs(m) };
  }
  if (directive === undefined) return { labs: false };
  const m = official.exec(directive.value);
  if (!m) {
    throw new DockerfileError(
      `polyarch does not run external frontends: # syntax=${directive.value} names a frontend image other than docker/dockerfile`,
      source,
      directive.valuePos,
      {
        hint: "polyarch's built-in frontend is docker/dockerfile:1 (and :1-labs): use one of those, or remove the line; a custom frontend needs BuildKit (docker buildx build)",
      },
    );
  }
  return { labs: isLabs(m) };
}

function isLabs(match: RegExpExecArray): boolean {
  return /labs/i.test(match[1] ?? "");
}

/** The parse option a build's args give: `BUILDKIT_SYNTAX`, when set, names the frontend. */
export function syntaxOverride(buildArgs: Readonly<Record<string, string>>): { syntax?: string } {
  const value = buildArgs.BUILDKIT_SYNTAX;
  return value === undefined || value === "" ? {} : { syntax: value };
}
