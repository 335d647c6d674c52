// The worker seam: the solver is given a Worker and runs everything through it. A second real worker (one
// that records each call and hands the work to the local worker) builds the same image, byte for byte,
// as the default local worker, and the calls it sees are the build's whole work: a cached rebuild asks
// it for nothing but whether results exist, and type=local reads the result's tree from it (the Ref).
import assert from "node:assert/strict";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { type BuildOptions, build } from "../../../src/api/build.ts";
import { parseOutputs } from "../../../src/exporter/parse-outputs.ts";
import { parsePlatformList } from "../../../src/oci/platform.ts";
import { LocalWorker } from "../../../src/worker/local/local-worker.ts";
import { pushBusyboxImage } from "../../harness/images.ts";
import { startRegistry, type TestRegistry } from "../../harness/registry.ts";
import { RecordingWorker } from "./support/recording-worker.ts";

let dir: string;
let registry: TestRegistry;
let context: string;

const quiet = { emit() {}, async close() {} };

before(async () => {
  dir = await mkdtemp(join(tmpdir(), "polyarch-worker-seam-"));
  registry = await startRegistry();
  const base = (await pushBusyboxImage(registry)).ref;
  context = join(dir, "ctx");
  await mkdir(context, { recursive: true });
  await writeFile(join(context, "a.txt"), "from the context\n");
  await writeFile(
    join(context, "Dockerfile"),
    `FROM ${base}\nCOPY a.txt /a.txt\nRUN cat /a.txt > /b.txt && echo ran >> /b.txt\n`,
  );
});
after(async () => {
  await registry?.stop();
  await rm(dir, { recursive: true, force: true });
});

function options(stateRoot: string, output: string, extra: Partial<BuildOptions> = {}): BuildOptions {
  return {
    context,
    platforms: parsePlatformList("linux/amd64"),
    buildArgs: { SOURCE_DATE_EPOCH: "1700000000" },
    outputs: parseOutputs({ output: [output], tags: [], push: false }),
    progress: quiet,
    stateRoot,
    execTimeoutMs: 120_000,
    ...extra,
  };
}

describe("the worker seam", () => {
  const stateA = () => join(dir, "state-a");
  const stateB = () => join(dir, "state-b");
  const recorded = () => new RecordingWorker(new LocalWorker({ stateRoot: stateB() }));

  test("a build through another Worker gives the image the local worker gives, all its work done by it", async () => {
    const oci = (n: string) => `type=oci,dest=${join(dir, n)},rewrite-timestamp=true`;
    const plain = await build(options(stateA(), oci("a.tar")));
    const worker = recorded();
    const through = await build(options(stateB(), oci("b.tar"), { worker }));
    assert.equal(through.descriptor.digest, plain.descriptor.digest);
    assert.equal(worker.count("removeDeadLeftovers"), 1);
    assert.equal(worker.count("checkPlatform"), 1, "the RUN's platform is checked before it runs");
    assert.deepEqual(
      worker.calls.filter((c) => c.method === "exec").map((c) => c.detail),
      [["/bin/sh", "-c", "cat /a.txt > /b.txt && echo ran >> /b.txt"]],
    );
    assert.deepEqual(
      worker.calls.filter((c) => c.method === "fileOp").map((c) => c.detail),
      [["copy"]],
    );
    assert.ok(worker.count("unpackLayer") >= 1, "the base image's layers are unpacked by the worker");
    assert.ok(worker.count("newSnapshot") >= 1, "the context is copied into a snapshot of the worker");
    assert.equal(worker.count("exportLayer"), 2, "both new layers are exported by the worker");
  });

  test("a cached rebuild asks the worker for nothing but whether results exist", async () => {
    const worker = recorded();
    await build(options(stateB(), `type=oci,dest=${join(dir, "c.tar")},rewrite-timestamp=true`, { worker }));
    const work = worker.calls.filter(
      (c) => !["removeDeadLeftovers", "hasSnapshot", "settle", "removeDeadResults"].includes(c.method),
    );
    assert.deepEqual(work, []);
  });

  test("type=local reads the result's tree from the worker (a view of its chain), not the layer blobs", async () => {
    const worker = recorded();
    const dest = join(dir, "local");
    await build(options(stateB(), `type=local,dest=${dest}`, { worker }));
    const views = worker.calls.filter((c) => c.method === "view").map((c) => c.detail as string[]);
    assert.equal(views.length, 1);
    // The base image's layer(s), the COPY's and the RUN's snapshots, bottom first.
    assert.ok(views[0]!.length >= 3);
    assert.match(views[0]!.at(-1)!, /^run-/);
    assert.match(views[0]!.at(-2)!, /^file-/);
    assert.equal(await readFile(join(dest, "b.txt"), "utf8"), "from the context\nran\n");
    assert.equal(worker.count("exec"), 0);
  });
});
