import assert from "node:assert/strict";
import { test } from "node:test";
import { startRegistry } from "../../harness/registry.ts";

function claims(token: string): { access: { type: string; name: string; actions: string[] }[]; sub: string } {
  return JSON.parse(Buffer.from(token.split(".")[1]!, "base64url").toString("utf8"));
}

test("token server: GET with basic auth, OAuth2 POST with password and refresh token, grant policy", async () => {
  await using reg = await startRegistry({
    auth: "token",
    // Nobody may push to "frozen"; everything else as asked.
    grant: (account, want) =>
      account ? want.actions.filter((a) => !(want.name === "frozen" && a === "push")) : [],
  });
  const server = reg.tokenServer!;
  const { username, password } = reg.credentials!;
  const basic = `Basic ${Buffer.from(`${username}:${password}`).toString("base64")}`;

  const get = await fetch(
    `${server.realm}?service=s&scope=repository:app:pull,push&scope=repository:frozen:pull,push`,
    {
      headers: { authorization: basic },
    },
  );
  assert.equal(get.status, 200);
  const got = (await get.json()) as { token: string; access_token: string };
  assert.equal(got.token, got.access_token);
  assert.deepEqual(claims(got.token).access, [
    { type: "repository", name: "app", actions: ["pull", "push"] },
    { type: "repository", name: "frozen", actions: ["pull"] },
  ]);
  assert.equal(claims(got.token).sub, username);

  const wrong = await fetch(`${server.realm}?scope=repository:app:pull`, {
    headers: { authorization: `Basic ${Buffer.from(`${username}:nope`).toString("base64")}` },
  });
  assert.equal(wrong.status, 401);

  const form = (fields: Record<string, string>) =>
    fetch(server.realm, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams(fields).toString(),
    });
  const post = await form({
    grant_type: "password",
    username,
    password,
    scope: "repository:app:pull",
    service: "s",
  });
  assert.equal(post.status, 200);
  const posted = (await post.json()) as { access_token: string; refresh_token: string };
  assert.ok(posted.refresh_token);
  const refreshed = await form({
    grant_type: "refresh_token",
    refresh_token: posted.refresh_token,
    scope: "repository:x:pull",
  });
  assert.equal(refreshed.status, 200);
  assert.deepEqual(claims(((await refreshed.json()) as { access_token: string }).access_token).access, [
    { type: "repository", name: "x", actions: ["pull"] },
  ]);
  assert.equal((await form({ grant_type: "password", username, password: "nope" })).status, 401);

  assert.deepEqual(
    server.requests.map((r) => [r.method, r.grant, r.status]),
    [
      ["GET", "basic", 200],
      ["GET", "basic", 401],
      ["POST", "password", 200],
      ["POST", "refresh_token", 200],
      ["POST", "password", 401],
    ],
  );
  assert.deepEqual(server.scopesRequested(), [
    "repository:app:pull,push",
    "repository:frozen:pull,push",
    "repository:app:pull",
    "repository:x:pull",
  ]);
});
