// A compromised node asks the client for more than the build gives it: a local source the graph does not
// have (the whole context, without the .dockerignore excludes), or the bytes of a file nobody listed.
// The client refuses both, and the files stay unread.
import assert from "node:assert/strict";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PassThrough } from "node:stream";
import { localContextProvider } from "../../src/api/build/local-contexts.ts";
import { solveOnSession } from "../../src/api/builders/node-solve.ts";
import { Wire } from "../../src/api/builders/wire.ts";
import { openContentStore } from "../../src/content/local-store.ts";
import { addVertex, emptyGraph } from "../../src/graph/build.ts";
import { attack } from "./support/attack.ts";

attack("a node cannot widen a local source or fetch a file nobody listed", async () => {
  const work = await mkdtemp(join(tmpdir(), "polyarch-attack-channel-"));
  try {
    const ctx = join(work, "ctx");
    await mkdir(ctx);
    await writeFile(join(ctx, "app.txt"), "app\n");
    await writeFile(join(ctx, ".env"), "SECRET_TOKEN=do-not-send\n");
    const store = await openContentStore(join(work, "content"));
    const source = {
      type: "local" as const,
      name: "context",
      excludePatterns: [".env"],
      followPaths: ["app.txt"],
    };
    const graph = emptyGraph();
    const root = addVertex(graph, { kind: "source", source });

    // The two ends of the channel, in this process: the client's session and the hostile node.
    const toNode = new PassThrough();
    const toClient = new PassThrough();
    const client = new Wire(toClient, toNode);
    const node = new Wire(toNode, toClient);
    const seen: string[] = [];
    node.handle("solve", async () => {
      // 1. The whole context, without the excludes the graph's source has.
      await node
        .request("context", { source: { type: "local", name: "context" } })
        .catch((e: Error) => seen.push(e.message));
      // 2. The listed selection is fine…
      const ok = await node.request("context", { source });
      const files = ok.files as { path: string; digest?: string }[];
      assert.deepEqual(
        files.map((f) => f.path),
        ["app.txt"],
      );
      // 3. …but a digest nobody listed (the .env's) is not served.
      const { createHash } = await import("node:crypto");
      const envDigest = `sha256:${createHash("sha256").update("SECRET_TOKEN=do-not-send\n").digest("hex")}`;
      const { answer } = await node.requestBlob("blob", { digest: envDigest });
      await answer.catch((e: Error) => seen.push(e.message));
      throw new Error("node gives up");
    });
    await assert.rejects(
      solveOnSession(
        { name: "evil", driver: "ssh", endpoint: "ssh://evil", platforms: [] },
        {
          wire: client,
          info: { polyarch: "0", node: "0", runc: undefined, native: [], emulated: [], problems: [] },
          close: async () => {},
        },
        {
          version: "0",
          graph,
          platforms: [
            {
              platform: { os: "linux", architecture: "amd64" },
              output: root,
              layerVertices: [],
              baseVertex: root,
              baseImage: undefined,
            },
          ],
          proxyEnv: {},
          localContexts: localContextProvider(ctx, []),
          secrets: undefined,
          credentials: undefined,
          store,
          emit: () => {},
          options: {},
        },
      ),
      /node gives up/,
    );
    assert.equal(seen.length, 2, seen.join("\n"));
    assert.match(seen[0]!, /a local source the build's graph does not have/);
    assert.match(seen[1]!, /a file this build did not list/);
    client.close(new Error("done"));
    node.close(new Error("done"));
  } finally {
    await rm(work, { recursive: true, force: true });
  }
});
