import assert from "node:assert/strict";
import { test } from "node:test";
import { defaultPath } from "../../../../src/worker/executor/exec-request.ts";
import { defaultSeccompProfile } from "../../../../src/worker/executor/seccomp-profile.ts";
import { buildRuntimeSpec, processEnv, type SpecInput } from "../../../../src/worker/executor/spec.ts";

function input(overrides: Partial<SpecInput> = {}): SpecInput {
  return {
    rootfs: "/state/snap/merged",
    args: ["/bin/sh", "-c", "make"],
    env: ["FOO=bar"],
    cwd: "/src",
    user: { uid: 1000, gid: 1000, additionalGids: [10], home: "/home/app" },
    network: "host",
    hostname: "buildkitsandbox",
    readonlyRootfs: false,
    mounts: [],
    hostsFile: "/state/bundle/hosts",
    resolvConfFile: "/state/bundle/resolv.conf",
    ...overrides,
  };
}

test("process: args, cwd, user with supplementary groups, no terminal", () => {
  const s = buildRuntimeSpec(input());
  assert.deepEqual(s.process.args, ["/bin/sh", "-c", "make"]);
  assert.equal(s.process.cwd, "/src");
  assert.deepEqual(s.process.user, { uid: 1000, gid: 1000, additionalGids: [10] });
  assert.equal(s.process.terminal, false);
  assert.equal(s.root.path, "/state/snap/merged");
  assert.equal(s.root.readonly, false);
  assert.equal(s.hostname, "buildkitsandbox");
  assert.equal(s.process.noNewPrivileges, false);
});

test("env gets the default PATH and HOME from passwd, and keeps its own when set", () => {
  assert.deepEqual(processEnv(["FOO=bar"], "/home/app"), [
    `PATH=${defaultPath}`,
    "FOO=bar",
    "HOME=/home/app",
  ]);
  assert.deepEqual(processEnv(["PATH=/x", "HOME=/h"], "/root"), ["PATH=/x", "HOME=/h"]);
  // A repeated key keeps its last value, once.
  assert.deepEqual(processEnv(["A=1", "B=2", "A=3", "PATH=/p", "HOME=/"], "/"), [
    "B=2",
    "A=3",
    "PATH=/p",
    "HOME=/",
  ]);
});

test("namespaces: pid ipc uts mount, plus network only for network=none", () => {
  const host = buildRuntimeSpec(input()).linux.namespaces.map((n) => n.type);
  assert.deepEqual(host.sort(), ["ipc", "mount", "pid", "uts"]);
  const none = buildRuntimeSpec(input({ network: "none" })).linux.namespaces.map((n) => n.type);
  assert.deepEqual(none.sort(), ["ipc", "mount", "network", "pid", "uts"]);
});

test("Docker's 14 default capabilities, in bounding, effective and permitted", () => {
  const caps = buildRuntimeSpec(input()).process.capabilities;
  assert.equal(caps.bounding.length, 14);
  for (const c of ["CAP_CHOWN", "CAP_SETUID", "CAP_NET_BIND_SERVICE", "CAP_MKNOD", "CAP_AUDIT_WRITE"])
    assert.ok(caps.bounding.includes(c), c);
  assert.ok(!caps.bounding.includes("CAP_SYS_ADMIN"));
  assert.deepEqual(caps.effective, caps.bounding);
  assert.deepEqual(caps.permitted, caps.bounding);
});

test("standard mounts: /proc, /dev with pts shm mqueue, read-only /sys, and the generated /etc files", () => {
  const s = buildRuntimeSpec(input());
  const byDest = new Map(s.mounts.map((m) => [m.destination, m]));
  assert.equal(byDest.get("/proc")?.type, "proc");
  assert.equal(byDest.get("/dev")?.type, "tmpfs");
  assert.equal(byDest.get("/dev/pts")?.type, "devpts");
  assert.equal(byDest.get("/dev/shm")?.type, "tmpfs");
  assert.equal(byDest.get("/dev/mqueue")?.type, "mqueue");
  assert.equal(byDest.get("/sys")?.type, "sysfs");
  assert.ok(byDest.get("/sys")?.options?.includes("ro"));
  assert.equal(byDest.get("/etc/hosts")?.source, "/state/bundle/hosts");
  assert.equal(byDest.get("/etc/resolv.conf")?.source, "/state/bundle/resolv.conf");
  // /dev comes before what is mounted inside it.
  const order = s.mounts.map((m) => m.destination);
  assert.ok(order.indexOf("/dev") < order.indexOf("/dev/pts"));
});

test("default devices, a deny-all device rule first, masked and read-only kernel paths, NOFILE", () => {
  const s = buildRuntimeSpec(input({ nofile: 20000 }));
  assert.deepEqual(
    s.linux.devices.map((d) => `${d.path} ${d.major}:${d.minor}`),
    [
      "/dev/null 1:3",
      "/dev/zero 1:5",
      "/dev/full 1:7",
      "/dev/random 1:8",
      "/dev/urandom 1:9",
      "/dev/tty 5:0",
    ],
  );
  assert.deepEqual(s.linux.resources.devices[0], { allow: false, access: "rwm" });
  assert.ok(s.linux.maskedPaths.includes("/proc/kcore"));
  assert.ok(s.linux.maskedPaths.includes("/sys/firmware"));
  assert.ok(s.linux.readonlyPaths.includes("/proc/sys"));
  assert.ok(s.linux.readonlyPaths.includes("/proc/sysrq-trigger"));
  assert.deepEqual(s.process.rlimits, [{ type: "RLIMIT_NOFILE", soft: 20000, hard: 20000 }]);
  assert.equal(buildRuntimeSpec(input()).process.rlimits[0]?.hard, 1048576);
});

test("extra mounts: read-only and read-write binds, cache dirs, tmpfs with a size", () => {
  const s = buildRuntimeSpec(
    input({
      readonlyRootfs: true,
      mounts: [
        { type: "bind", source: "/ctx", destination: "/src", readonly: true },
        { type: "bind", source: "/out", destination: "/out", readonly: false },
        { type: "cache", source: "/state/cache/go", destination: "/root/.cache/go-build" },
        { type: "tmpfs", destination: "/tmp", sizeBytes: 1 << 20 },
      ],
    }),
  );
  const byDest = new Map(s.mounts.map((m) => [m.destination, m]));
  assert.deepEqual(byDest.get("/src"), {
    destination: "/src",
    type: "bind",
    source: "/ctx",
    options: ["rbind", "ro"],
  });
  assert.deepEqual(byDest.get("/out")?.options, ["rbind", "rw"]);
  assert.deepEqual(byDest.get("/root/.cache/go-build")?.options, ["rbind", "rw"]);
  assert.equal(byDest.get("/root/.cache/go-build")?.source, "/state/cache/go");
  assert.equal(byDest.get("/tmp")?.type, "tmpfs");
  assert.ok(byDest.get("/tmp")?.options?.includes("size=1048576"));
  assert.equal(s.root.readonly, true);
  // Extra mounts come after the standard ones so that they can cover them.
  assert.equal(s.mounts.at(-1)?.destination, "/tmp");
});

test("the spec is plain JSON: it round-trips unchanged", () => {
  const s = buildRuntimeSpec(input({ network: "none" }));
  assert.deepEqual(JSON.parse(JSON.stringify(s)), s);
  assert.equal(s.ociVersion, "1.0.2");
});

test("sandboxed steps get Docker's default seccomp profile for the host architecture; insecure ones none", () => {
  const input = {
    rootfs: "/r",
    args: ["true"],
    env: [],
    cwd: "/",
    user: { uid: 0, gid: 0, additionalGids: [], home: "/root" },
    network: "host" as const,
    hostname: "h",
    readonlyRootfs: false,
    mounts: [],
    hostsFile: "/h",
    resolvConfFile: "/c",
  };
  const seccomp = buildRuntimeSpec(input).linux.seccomp!;
  assert.equal(seccomp.defaultAction, "SCMP_ACT_ERRNO");
  assert.equal(seccomp.defaultErrnoRet, 1);
  const allowed = new Set(
    seccomp.syscalls.filter((s) => s.action === "SCMP_ACT_ALLOW" && !s.args).flatMap((s) => s.names),
  );
  for (const n of ["read", "execve", "chroot", "ptrace"]) assert.ok(allowed.has(n), n);
  for (const n of ["unshare", "mount", "setns", "keyctl", "add_key", "reboot", "init_module"])
    assert.ok(!allowed.has(n), n);
  assert.deepEqual(
    seccomp.syscalls.find((s) => s.names.includes("clone3")),
    { names: ["clone3"], action: "SCMP_ACT_ERRNO", errnoRet: 38 },
  );
  assert.deepEqual(defaultSeccompProfile([], "amd64")!.architectures, [
    "SCMP_ARCH_X86_64",
    "SCMP_ARCH_X86",
    "SCMP_ARCH_X32",
  ]);
  assert.deepEqual(defaultSeccompProfile([], "arm64")!.architectures, ["SCMP_ARCH_AARCH64", "SCMP_ARCH_ARM"]);
  assert.ok(defaultSeccompProfile(["CAP_SYS_ADMIN"], "amd64")!.syscalls[0]!.names.includes("unshare"));
  const insecure = buildRuntimeSpec({
    ...input,
    security: "insecure",
    privilegedCapabilities: ["CAP_SYS_ADMIN"],
  });
  assert.equal(insecure.linux.seccomp, undefined);
  assert.deepEqual(insecure.process.capabilities.bounding, ["CAP_SYS_ADMIN"]);
  assert.deepEqual(insecure.linux.maskedPaths, []);
});
