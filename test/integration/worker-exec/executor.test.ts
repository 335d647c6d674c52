import assert from "node:assert/strict";
import { existsSync, statSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { after, before, test } from "node:test";
import { formatPlatform, hostPlatform } from "../../../src/oci/platform.ts";
import { ExecFailedError, ExecStartError, ExecTimeoutError } from "../../../src/worker/executor/errors.ts";
import { maskedPaths } from "../../../src/worker/executor/spec.ts";
import { ExecFixture, unameOf } from "./fixture.ts";

// Real runc on the busybox fixture of this machine's own platform; needs root, as CI has.
const native = hostPlatform();
let fx: ExecFixture;

before(async () => {
  fx = await ExecFixture.create();
});
after(async () => {
  await fx?.dispose();
});

function interfaces(procNetDev: string): string[] {
  return procNetDev
    .split("\n")
    .slice(2)
    .map((l) => l.split(":")[0]!.trim())
    .filter(Boolean)
    .sort();
}

test("runs a step natively and streams its output", async () => {
  const chunks: string[] = [];
  const r = await fx.sh(
    native,
    "uname -m; echo to-stderr >&2",
    {},
    { onOutput: (s, c) => chunks.push(`${s}:${c}`) },
  );
  assert.equal(r.stdout, `${unameOf[formatPlatform(native)]}\n`);
  assert.equal(r.stderr, "to-stderr\n");
  assert.equal(r.emulated, false);
  assert.ok(chunks.some((c) => c.startsWith("stderr:")));
});

test("USER by name runs with the uid, groups and HOME of the image's passwd", async () => {
  const r = await fx.sh(native, 'id; echo "HOME=$HOME"', { user: "app" });
  assert.match(r.stdout, /^uid=1000\(app\) gid=1000\(app\)/);
  assert.match(r.stdout, /HOME=\/home\/app/);
  const numeric = await fx.sh(native, "id -u; id -g", { user: "4242:4343" });
  assert.equal(numeric.stdout, "4242\n4343\n");
  await assert.rejects(fx.sh(native, "true", { user: "ghost" }), /unable to find user ghost/);
});

test("network none has only lo; the default host network sees the host's interfaces", async () => {
  const none = await fx.sh(native, "cat /proc/net/dev", { network: "none" });
  assert.deepEqual(interfaces(none.stdout), ["lo"]);
  const host = await fx.sh(native, "cat /proc/net/dev");
  assert.deepEqual(interfaces(host.stdout), interfaces(await readFile("/proc/net/dev", "utf8")));
});

test("a missing working dir is created, owned by the step's user", async () => {
  const r = await fx.sh(native, "pwd; stat -c '%u:%g %a' /work/sub /work; touch ok", {
    user: "app",
    cwd: "/work/sub",
  });
  assert.equal(r.stdout, "/work/sub\n1000:1000 755\n1000:1000 755\n");
});

test("PATH defaults when the env has none, and the env is passed as given", async () => {
  const r = await fx.sh(native, 'echo "$PATH|$FOO|$HOME"', { env: ["FOO=bar baz"] });
  assert.equal(r.stdout, "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin|bar baz|/root\n");
  const own = await fx.sh(native, 'echo "$PATH"', { env: ["PATH=/bin:/custom"] });
  assert.equal(own.stdout, "/bin:/custom\n");
});

test("hostname, /etc/hosts and /etc/resolv.conf are there", async () => {
  const r = await fx.sh(native, "hostname; cat /etc/hosts; test -s /etc/resolv.conf && echo resolv-ok", {
    extraHosts: [{ host: "db.internal", ip: "10.1.2.3" }],
  });
  const [name, ...rest] = r.stdout.split("\n");
  assert.equal(name, "buildkitsandbox");
  assert.match(rest.join("\n"), /127\.0\.0\.1\tlocalhost buildkitsandbox/);
  assert.match(rest.join("\n"), /10\.1\.2\.3\tdb\.internal/);
  assert.match(r.stdout, /resolv-ok/);
  assert.equal((await fx.sh(native, "hostname", { hostname: "other" })).stdout, "other\n");
});

test("the standard kernel filesystems and devices are mounted, with Docker's masks", async () => {
  const r = await fx.sh(
    native,
    "echo hi > /dev/null && head -c 4 /dev/zero | wc -c; test -c /dev/urandom && echo urandom; " +
      "touch /sys/x 2>/dev/null || echo sys-ro; echo 1 > /proc/sys/vm/drop_caches 2>/dev/null || echo proc-sys-ro; " +
      "test -d /dev/shm && echo shm; ulimit -n",
  );
  const lines = r.stdout.trim().split("\n");
  assert.deepEqual(lines.slice(0, 5), ["4", "urandom", "sys-ro", "proc-sys-ro", "shm"]);
  assert.ok(Number(lines[5]) > 1024);
  // A masked file the host kernel has reads as empty inside (kernels differ in which ones they have).
  const masked = maskedPaths.find((p) => existsSync(p) && statSync(p).isFile());
  if (masked) assert.equal((await fx.sh(native, `wc -c < ${masked}`)).stdout.trim(), "0");
});

test("a failing step reports its command, exit code and last lines of output", async () => {
  await assert.rejects(
    fx.sh(native, "for i in 1 2 3 4 5; do echo line $i; done; echo oops >&2; exit 3"),
    (e: unknown) => {
      assert.ok(e instanceof ExecFailedError);
      assert.equal(e.exitCode, 3);
      assert.equal(
        e.message,
        'process "/bin/sh -c for i in 1 2 3 4 5; do echo line $i; done; echo oops >&2; exit 3" did not complete successfully: exit code: 3',
      );
      // stdout and stderr are separate pipes, so only membership is certain, not their interleaving.
      assert.ok(e.outputTail.includes("line 5") && e.outputTail.includes("oops"), String(e.outputTail));
      assert.match(e.hint ?? "", /> line 5/);
      return true;
    },
  );
});

test("a command that does not exist fails to start, with runc's reason", async () => {
  const snap = await fx.snapshot(native);
  try {
    await assert.rejects(
      fx.executor.run(snap.rootfs, { args: ["no-such-tool", "--x"], env: [], platform: native }),
      (e: unknown) => e instanceof ExecStartError && /no-such-tool.*not found/.test(e.message),
    );
  } finally {
    await snap.release();
    await fx.snapshotter.remove(snap.key);
  }
});

test("cancelling kills the container and leaves no container or bundle behind", async () => {
  const ac = new AbortController();
  const started = fx.sh(
    native,
    "echo started; sleep 60",
    {},
    {
      signal: ac.signal,
      onOutput: (_s, c) => {
        if (c.toString().includes("started")) ac.abort(new Error("user cancelled"));
      },
    },
  );
  await assert.rejects(started, /user cancelled/);
  assert.deepEqual(await fx.containers(), []);
  assert.deepEqual(await fx.bundles(), []);
});

test("cancelling before the container exists is also clean", async () => {
  const ac = new AbortController();
  const p = fx.sh(native, "sleep 60", {}, { signal: ac.signal });
  ac.abort(new Error("early"));
  await assert.rejects(p, /early/);
  assert.deepEqual(await fx.containers(), []);
});

test("the watchdog kills a step that runs too long", async () => {
  await assert.rejects(
    fx.sh(native, "echo before; sleep 60", {}, { timeoutMs: 500 }),
    (e: unknown) => e instanceof ExecTimeoutError && /did not finish within 0.5s/.test(e.message),
  );
  assert.deepEqual(await fx.containers(), []);
});

test("output is read to its end: a step that prints a lot is never cut short", async () => {
  let bytes = 0;
  const r = await fx.sh(
    native,
    "yes polyarch | head -c 5000000; echo; echo done",
    {},
    { onOutput: (_s, c) => (bytes += c.length) },
  );
  assert.equal(bytes, 5000000 + "\ndone\n".length);
  assert.ok(r.stdout.endsWith("\ndone\n"));
});

test("bind, cache and tmpfs mounts", async () => {
  const { mkdtemp, writeFile } = await import("node:fs/promises");
  const { join } = await import("node:path");
  const host = await mkdtemp(join(fx.dir, "mounts-"));
  await writeFile(join(host, "input.txt"), "from the host\n");
  const mounts = [
    { type: "bind" as const, source: host, destination: "/in", readonly: true },
    { type: "cache" as const, source: join(fx.dir), destination: "/cache" },
    { type: "tmpfs" as const, destination: "/scratch" },
  ];
  await fx.sh(native, "echo 1 > /cache/counter", { mounts: [mounts[1]!] });
  const r = await fx.sh(
    native,
    "cat /in/input.txt; touch /in/x 2>/dev/null || echo ro; cat /cache/counter; grep ' /scratch ' /proc/mounts | cut -d' ' -f3",
    { mounts },
  );
  assert.equal(r.stdout, "from the host\nro\n1\ntmpfs\n");
});
