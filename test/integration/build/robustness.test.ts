// Secrets never leave the step that mounts them; Ctrl-C leaves no container, no mount and a usable cache.
import assert from "node:assert/strict";
import { readdir, readFile, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { gunzipSync } from "node:zlib";
import { UserError } from "../../../src/errors/user-error.ts";
import { hostPlatform } from "../../../src/oci/platform.ts";
import { createSnapshotter } from "../../../src/worker/snapshot/create.ts";
import { runOk } from "../../harness/exec.ts";
import { BuildFixture, Recorder, unpackPlatform } from "./fixture.ts";

let fx: BuildFixture;
before(async () => {
  fx = await BuildFixture.create();
});
after(async () => {
  await fx?.dispose();
});

const native = [hostPlatform()];

/** Every file under `dir` (gzip ones also decompressed) that contains `needle`. */
async function filesContaining(dir: string, needle: string): Promise<string[]> {
  const found: string[] = [];
  const walk = async (d: string) => {
    for (const entry of await readdir(d, { withFileTypes: true })) {
      const p = join(d, entry.name);
      if (entry.isDirectory()) await walk(p);
      else if (entry.isFile()) {
        const bytes = await readFile(p);
        let text = bytes.toString("latin1");
        if (bytes[0] === 0x1f && bytes[1] === 0x8b) {
          try {
            text += gunzipSync(bytes).toString("latin1");
          } catch {
            // not gzip after all
          }
        }
        if (text.includes(needle)) found.push(p);
      }
    }
  };
  await walk(dir);
  return found;
}

test("a secret is readable in its RUN (as a file and as a variable) and appears in no layer, cache, history or log", async () => {
  const secret = "s3cr3t-Value-42";
  const secretFile = join(fx.dir, "token.txt");
  await writeFile(secretFile, secret);
  const ctx = await fx.context({
    Dockerfile: `FROM ${fx.base}
RUN --mount=type=secret,id=tok,required=true test "$(cat /run/secrets/tok)" = "${secret.slice(0, 6)}$(echo -Value-42)" && echo file-ok > /ok
RUN --mount=type=secret,id=tok,env=TOK,target=/tmp/tok test "$TOK" = "$(cat /tmp/tok)" && echo env-ok >> /ok
RUN --mount=type=secret,id=tok echo "careless: $(cat /run/secrets/tok)"
`,
  });
  const r = await fx.build(ctx, {
    platforms: native,
    secrets: { tok: { file: secretFile } },
  });
  const image = await unpackPlatform(r.tar, native[0]!, fx.dir);
  assert.equal(await readFile(join(image.rootfs, "ok"), "utf8"), "file-ok\nenv-ok\n");
  await assert.rejects(stat(join(image.rootfs, "run/secrets")), "the mount point left no trace");
  await assert.rejects(stat(join(image.rootfs, "tmp/tok")));

  const extracted = join(fx.dir, "extracted");
  await runOk("mkdir", ["-p", extracted]);
  await runOk("tar", ["-xf", r.tar, "-C", extracted]);
  assert.deepEqual(await filesContaining(extracted, secret), [], "not in the image's blobs");
  assert.deepEqual(await filesContaining(fx.stateRoot, secret), [], "not in the store or the cache");
  assert.ok(
    !JSON.stringify(r.progress.events, (_k, v) =>
      v instanceof Uint8Array ? Buffer.from(v).toString() : v,
    ).includes(secret),
  );

  assert.ok(
    r.progress.logs().includes("careless: ***"),
    `a printed secret is masked in the log: ${r.progress.logs()}`,
  );

  // A failing step quotes its last lines of output: masked too.
  const failing = await fx.context({
    Dockerfile: `FROM ${fx.base}\nRUN --mount=type=secret,id=tok cat /run/secrets/tok && exit 1\n`,
  });
  await assert.rejects(
    fx.build(failing, { platforms: native, secrets: { tok: { file: secretFile } } }),
    (e: unknown) =>
      e instanceof UserError &&
      /exit code: 1/.test(e.message) &&
      !`${e.message}${e.hint}`.includes(secret) &&
      (e.hint ?? "").includes("***"),
  );

  // A cached step needs no secret (its key never held the value); one that must run does.
  await fx.build(ctx, { platforms: native });
  await assert.rejects(
    fx.build(ctx, { platforms: native, noCache: true }),
    /secret tok: not found \(the step requires it/,
  );
});

test("Ctrl-C during a RUN kills it, leaves no container or mount, and the next build reuses what finished", async () => {
  const dockerfile = (last: string) => `FROM ${fx.base}
RUN echo step-one > /one
RUN echo started && ${last}
`;
  const ctx = await fx.context({ Dockerfile: dockerfile("sleep 60") });
  const controller = new AbortController();
  const progress = new Recorder();
  progress.emit = (e) => {
    Recorder.prototype.emit.call(progress, e);
    if (e.type === "vertex.log" && Buffer.from(e.data).toString().includes("started")) controller.abort();
  };
  const started = Date.now();
  await assert.rejects(
    fx.build(ctx, { platforms: native, signal: controller.signal, progress }),
    /the build was canceled/,
  );
  assert.ok(Date.now() - started < 30_000, "the sleeping step was killed, not waited for");
  const containers = JSON.parse(
    (
      await runOk("runc", [
        "--root",
        join(fx.stateRoot, "solver", "exec", "runc"),
        "list",
        "--format",
        "json",
      ])
    ).stdout || "null",
  );
  assert.deepEqual(containers ?? [], []);
  const mounts = await readFile("/proc/mounts", "utf8");
  assert.deepEqual(
    mounts.split("\n").filter((l) => l.includes(fx.stateRoot)),
    [],
  );

  const active = join(fx.stateRoot, "solver", "snapshots", "active");
  assert.deepEqual(await readdir(active), [], "no snapshot is left open");

  await writeFile(join(ctx, "Dockerfile"), dockerfile("echo done"));
  const next = await fx.build(ctx, { platforms: native });
  assert.ok(
    next.progress.cached().some((n) => n.includes("RUN echo step-one")),
    "the finished step is reused",
  );
  assert.ok(next.progress.started().some((n) => n.includes("RUN echo started")));
  assert.ok(next.progress.logs().includes("started"));
});

test("a snapshot left mounted by a process that died (kill -9) is unmounted and removed by the next build that runs a step", async () => {
  const snapshots = join(fx.stateRoot, "solver", "snapshots");
  const snapshotter = await createSnapshotter(snapshots);
  const lower = join(fx.dir, "some-layer");
  const lower2 = join(fx.dir, "other-layer");
  await runOk("mkdir", ["-p", lower, lower2]);
  // A key as a dead process would have made it: "zzzzzz" in base 36 is a pid no system hands out.
  const abandoned = await snapshotter.prepare("run-zzzzzz-1-deadbeef", [lower, lower2]);
  const mounted = async () => (await readFile("/proc/mounts", "utf8")).includes(abandoned.rootfs);
  assert.equal(await mounted(), true);

  const ctx = await fx.context({ Dockerfile: `FROM ${fx.base}\nRUN echo reaped > /r\n` });
  await fx.build(ctx, { platforms: native });
  assert.equal(await mounted(), false);
  assert.ok(!(await readdir(join(snapshots, "active"))).includes("run-zzzzzz-1-deadbeef"));
});
