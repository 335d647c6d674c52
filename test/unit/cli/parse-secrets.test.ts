import assert from "node:assert/strict";
import { test } from "node:test";
import { parseSecrets } from "../../../src/cli/parse-secrets.ts";

test("--secret forms as buildx reads them", () => {
  const env = { TOKEN: "x", OTHER: "y" };
  assert.deepEqual(
    parseSecrets(
      [
        "id=a,src=/run/a",
        "id=b,source=/b",
        "id=c,env=OTHER",
        "id=TOKEN",
        "id=d,type=env,env=TOKEN",
        "id=e,type=file,src=f",
      ],
      env,
    ),
    {
      a: { file: "/run/a" },
      b: { file: "/b" },
      c: { env: "OTHER" },
      TOKEN: { env: "TOKEN" },
      d: { env: "TOKEN" },
      e: { file: "f" },
    },
  );
});

test("bad --secret values are one-line errors", () => {
  for (const v of ["src=/x", "id=a,bogus=1", "id=a,type=ssh", "id=MISSING", "id=a,env=UNSET", "justtext"]) {
    assert.throws(() => parseSecrets([v], {}), /^UserError: invalid --secret|invalid --secret/, v);
  }
});
