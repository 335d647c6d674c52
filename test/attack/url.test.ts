// ADD of a URL whose path, redirect or headers try to name a host path: the download's name is a base
// name (the last segment of the decoded URL path, as BuildKit's frontend takes it), written inside the
// image, and nothing appears on the host.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { after, before } from "node:test";
import { attack } from "./support/attack.ts";
import { type AttackWorkspace, attackWorkspace } from "./support/build.ts";

const body = "served body\n";
let ws: AttackWorkspace;
let server: Server;
let origin: string;
/** The paths the server was asked for, to check what the URL meant on the wire. */
const asked: string[] = [];

before(async () => {
  ws = await attackWorkspace();
  server = createServer((req, res) => {
    asked.push(req.url ?? "");
    const redirect = /^\/redirect\/(.*)$/.exec(req.url ?? "");
    if (redirect) {
      // The hostile name is where the redirect goes and what the header says; neither may name the file.
      res.writeHead(302, { location: `/${redirect[1]}` });
      res.end();
      return;
    }
    res.writeHead(200, {
      "content-type": "application/octet-stream",
      "content-disposition": `attachment; filename="../../../../../../tmp/header-pwned"`,
    });
    res.end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
after(async () => {
  await new Promise((resolve) => server?.close(resolve));
  await ws?.[Symbol.asyncDispose]();
});

const checksum = `sha256:${createHash("sha256").update(body).digest("hex")}`;

/** `..%2F` repeated enough to climb from any state directory to "/". */
function climb(encodedSlash: string): string {
  return `..${encodedSlash}`.repeat(12);
}

function encodedPath(path: string, slash: string): string {
  return path.replace(/^\//, "").split("/").join(slash);
}

for (const [what, slash] of [
  ["%2F", "%2F"],
  ["%2f", "%2f"],
] as const) {
  for (const pinned of [false, true]) {
    attack(
      `ADD <url> with ${what}-encoded ..${pinned ? " and a matching --checksum" : ""} writes the base name in the image`,
      async (c) => {
        const url = `${origin}/x/${climb(slash)}${encodedPath(c.tmpDir, slash)}${slash}pwned`;
        const flag = pinned ? `--checksum=${checksum} ` : "";
        const r = await ws.build(`FROM scratch\nADD ${flag}${url} /dl/\n`);
        assert.equal(r.code, 0, r.stderr.slice(-3000));
        assert.deepEqual(readdirSync(join(r.out, "dl")), ["pwned"]);
        assert.equal(readFileSync(join(r.out, "dl/pwned"), "utf8"), body);
      },
    );
  }
}

attack("ADD <url> with %2e%2e segments and backslashes: the URL's own path, and a base name", async (c) => {
  for (const url of [
    `${origin}/x/%2e%2e/%2E%2E/%2e%2e${c.tmpDir}/dots`,
    `${origin}/x/..\\..\\..\\..\\..\\..${c.tmpDir.replaceAll("/", "\\")}\\backslash`,
    `${origin}/x/%2e%2e%2f%2e%2e%2f%2e%2e%2f%2e%2e%2f%2e%2e${encodedPath(c.tmpDir, "%2f")}%2fmixed`,
  ]) {
    const r = await ws.build(`FROM scratch\nADD ${url} /dl/\n`);
    assert.equal(r.code, 0, r.stderr.slice(-3000));
    const names = readdirSync(join(r.out, "dl"));
    assert.equal(names.length, 1, `${url}: ${names.join(",")}`);
    assert.ok(!names[0]!.includes("/") && names[0] !== ".." && names[0] !== ".", names[0]);
    assert.equal(readFileSync(join(r.out, "dl", names[0]!), "utf8"), body);
  }
});

attack(
  "ADD <url> that redirects to a hostile path, with a hostile Content-Disposition, keeps the URL's name",
  async (c) => {
    const target = `${climb("%2F")}${encodedPath(c.tmpDir, "%2F")}%2Fredirected`;
    const r = await ws.build(`FROM scratch\nADD ${origin}/redirect/${target} /dl/\n`);
    assert.equal(r.code, 0, r.stderr.slice(-3000));
    assert.ok(
      asked.some((p) => p.includes("redirected") && !p.startsWith("/redirect/")),
      "redirect followed",
    );
    assert.deepEqual(readdirSync(join(r.out, "dl")), ["redirected"]);
    assert.ok(!existsSync("/tmp/header-pwned"), "the Content-Disposition name was not used");
    assert.equal(readFileSync(join(r.out, "dl/redirected"), "utf8"), body);
  },
);

attack("ADD <url> whose path ends in .. or a slash is named __unnamed__, as BuildKit names it", async (c) => {
  for (const url of [`${origin}${c.tmpDir}/`, `${origin}/x/%2e%2e`, `${origin}/%2E%2E%2F`]) {
    const r = await ws.build(`FROM scratch\nADD ${url} /dl/\n`);
    assert.equal(r.code, 0, r.stderr.slice(-3000));
    assert.deepEqual(readdirSync(join(r.out, "dl")), ["__unnamed__"], url);
  }
});
