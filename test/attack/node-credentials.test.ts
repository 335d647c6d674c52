// A compromised node asks the client for registry logins: it gets one only for a registry the build
// uses (its images, push targets, registry caches), never the user's login to any other registry.
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PassThrough } from "node:stream";
import { solveOnSession } from "../../src/api/builders/node-solve.ts";
import { Wire } from "../../src/api/builders/wire.ts";
import { openContentStore } from "../../src/content/local-store.ts";
import { addVertex, emptyGraph } from "../../src/graph/build.ts";
import { attack } from "./support/attack.ts";

attack("a node gets credentials only for the registries the build uses", async () => {
  const work = await mkdtemp(join(tmpdir(), "polyarch-attack-creds-"));
  try {
    const store = await openContentStore(join(work, "content"));
    const graph = emptyGraph();
    const platform = { os: "linux", architecture: "amd64" };
    const root = addVertex(graph, {
      kind: "source",
      source: { type: "image", ref: "base.example/library/busybox:latest", platform },
    });
    const asked: string[] = [];
    const credentials = {
      async get(registry: string) {
        asked.push(registry);
        return { username: "u", password: `secret-for-${registry}` };
      },
    };
    const toNode = new PassThrough();
    const toClient = new PassThrough();
    const client = new Wire(toClient, toNode);
    const node = new Wire(toNode, toClient);
    const seen: string[] = [];
    node.handle("solve", async () => {
      for (const registry of ["base.example", "push.example", "cache.example", "other.example", 7]) {
        await node.request("credentials", { registry }).then(
          (a) => seen.push(`${registry}: ${(a.credentials as { password: string }).password}`),
          (e: Error) => seen.push(`${registry}: ${e.message}`),
        );
      }
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
          platforms: [{ platform, output: root, layerVertices: [], baseVertex: root, baseImage: undefined }],
          proxyEnv: {},
          localContexts: async () => ({ root: work, files: [] }),
          secrets: undefined,
          credentials,
          store,
          emit: () => {},
          options: {},
          push: { repositories: ["push.example/app"], remoteBlob: () => {} },
          cacheFrom: [{ type: "registry", attrs: { ref: "cache.example/c:1" } }],
        },
      ),
      /node gives up/,
    );
    assert.deepEqual(seen.slice(0, 3), [
      "base.example: secret-for-base.example",
      "push.example: secret-for-push.example",
      "cache.example: secret-for-cache.example",
    ]);
    assert.match(seen[3]!, /^other\.example: .*credentials of a registry this build does not use/);
    assert.match(seen[4]!, /^7: .*credentials of a registry this build does not use/);
    assert.deepEqual(asked, ["base.example", "push.example", "cache.example"]);
    client.close(new Error("done"));
    node.close(new Error("done"));
  } finally {
    await rm(work, { recursive: true, force: true });
  }
});
