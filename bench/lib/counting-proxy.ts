// A reverse proxy in front of a test registry that counts what clients pull: the bytes of every blob GET
// body it forwards (layers, configs, cache configs), so two tools' "bytes pulled" are measured the same way.
import { createServer, request } from "node:http";
import type { AddressInfo } from "node:net";

export interface CountingProxy {
  host: string;
  /** Blob bytes sent to clients so far. */
  blobBytes(): number;
  stop(): Promise<void>;
}

export async function startCountingProxy(upstream: string): Promise<CountingProxy> {
  const target = new URL(upstream);
  let bytes = 0;
  const server = createServer((req, res) => {
    const isBlobGet = req.method === "GET" && /\/blobs\/sha256:/.test(req.url ?? "");
    const up = request(
      { host: target.hostname, port: target.port, method: req.method, path: req.url, headers: req.headers },
      (r) => {
        res.writeHead(r.statusCode ?? 502, r.headers);
        r.on("data", (chunk: Buffer) => {
          if (isBlobGet && (r.statusCode ?? 0) < 300) bytes += chunk.length;
        });
        r.pipe(res);
      },
    );
    up.on("error", () => res.destroy());
    req.pipe(up);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    host: `127.0.0.1:${port}`,
    blobBytes: () => bytes,
    stop: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
