import assert from "node:assert/strict";
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { buildWithBuildKit } from "../../../src/buildkit/build.ts";
import { openContentStore } from "../../../src/content/index.ts";
import { UserError } from "../../../src/errors/user-error.ts";
import { StaticCredentials } from "../../../src/registry/credentials.ts";
import { startBuildKit } from "../../harness/buildkit.ts";
import { pushBusyboxImage } from "../../harness/images.ts";
import { startRegistry, type TestRegistry } from "../../harness/registry.ts";
import { writeContext } from "./support.ts";

// A registry with token auth: the daemon asks the session for the login (Auth.Credentials) and fetches
// its tokens itself; without a login it is refused.
let reg: TestRegistry;
let bk: Awaited<ReturnType<typeof startBuildKit>>;
let base: string;
before(async () => {
  reg = await startRegistry({ auth: "token" });
  base = (await pushBusyboxImage(reg)).ref;
  bk = await startBuildKit([reg.host]);
});
after(async () => {
  await bk?.stop();
  await reg?.stop();
});

const build = async (credentials?: StaticCredentials) => {
  const store = await openContentStore(await mkdtemp(join(tmpdir(), "polyarch-bk-auth-")));
  const ctx = await writeContext({ Dockerfile: `FROM ${base}\nRUN echo authed > /a\n` });
  return buildWithBuildKit({
    node: "bk",
    endpoint: { address: bk.address },
    contextDir: ctx,
    platforms: [{ os: "linux", architecture: "amd64" }],
    output: { type: "oci", store },
    ...(credentials ? { credentials } : {}),
  });
};

test("without a login the daemon's pull is refused, and the error names the node", async () => {
  await assert.rejects(build(new StaticCredentials({})), (e: unknown) => {
    assert.ok(e instanceof UserError, String(e));
    assert.match(e.message, /^BuildKit node bk \(unix:.*\): .*(401|unauthorized|authoriz)/i);
    return true;
  });
});

test("the login the session gives lets the daemon pull, and never shows in the error or result", async () => {
  const { username, password } = reg.credentials!;
  const result = await build(new StaticCredentials({ [reg.host]: { username, password } }));
  assert.equal(result.oci!.images.length, 1);
  const scopes = reg.tokenServer!.scopesRequested();
  assert.ok(
    scopes.some((s) => s.includes("library/busybox") && s.includes("pull")),
    scopes.join(","),
  );
  assert.ok(!JSON.stringify(result.exporterResponse).includes(password));
});
