import assert from "node:assert/strict";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { UserError } from "../../../../src/errors/user-error.ts";
import { formatPlatform } from "../../../../src/oci/platform.ts";
import { parseBinfmtEntry, readBinfmtState } from "../../../../src/worker/emulation/binfmt-proc.ts";
import {
  installedQemuDefinitions,
  parseBinfmtDConf,
  parseBinfmtsFile,
} from "../../../../src/worker/emulation/definitions.ts";
import {
  decodeBinfmtBytes,
  elfIdentFromMagic,
  platformsForElf,
} from "../../../../src/worker/emulation/elf-platform.ts";
import { installEmulators, registerLine } from "../../../../src/worker/emulation/install.ts";
import { qemuNameFromInput } from "../../../../src/worker/emulation/names.ts";
import { detectEmulation, EmulationDetector } from "../../../../src/worker/emulation/runnable.ts";

// The ELF headers QEMU's handlers match, as the kernel shows them (hex) and as definitions write them (\x escapes).
const aarch64Hex = "7f454c460201010000000000000000000200b700";
const armHex = "7f454c4601010100000000000000000002002800";
const riscvHex = "7f454c460201010000000000000000000200f300";
const maskHex = "ffffffffffffff00fffffffffffffffffeffffff";
const escaped = (hex: string) => hex.replace(/../g, (b) => `\\x${b}`);

function entryText(hex: string, flags: string, enabled = true, interpreter = "/usr/bin/qemu-x-static") {
  return `${enabled ? "enabled" : "disabled"}\ninterpreter ${interpreter}\nflags: ${flags}\noffset 0\nmagic ${hex}\nmask ${maskHex}\n`;
}

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), "polyarch-binfmt-"));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function fakeBinfmt(entries: Record<string, string>): Promise<string> {
  const d = await mkdtemp(join(dir, "proc-"));
  await writeFile(join(d, "register"), "");
  await writeFile(join(d, "status"), "enabled\n");
  for (const [name, text] of Object.entries(entries)) await writeFile(join(d, name), text);
  return d;
}

test("an entry file parses into flags, interpreter, magic and mask", () => {
  const e = parseBinfmtEntry(
    "qemu-aarch64",
    entryText(aarch64Hex, "POCF", true, "/usr/bin/qemu-aarch64-static"),
  );
  assert.equal(e.enabled, true);
  assert.equal(e.flags, "POCF");
  assert.equal(e.interpreter, "/usr/bin/qemu-aarch64-static");
  assert.equal(Buffer.from(e.magic!).toString("hex"), aarch64Hex);
  assert.equal(Buffer.from(e.mask!).toString("hex"), maskHex);
  const jar = parseBinfmtEntry("jar", "enabled\ninterpreter /usr/bin/jexec\nflags: \nextension .jar\n");
  assert.equal(jar.extension, ".jar");
  assert.equal(jar.magic, undefined);
});

test("ELF magic maps to OCI platforms by machine, class and byte order", () => {
  const names = (hex: string) =>
    platformsForElf(elfIdentFromMagic(Buffer.from(hex, "hex"))!).map((p) => formatPlatform(p));
  assert.deepEqual(names(aarch64Hex), ["linux/arm64"]);
  assert.deepEqual(names(armHex), ["linux/arm/v7", "linux/arm/v6"]);
  assert.deepEqual(names(riscvHex), ["linux/riscv64"]);
  assert.deepEqual(names("7f454c4602010100000000000000000002001500"), ["linux/ppc64le"]);
  assert.deepEqual(names("7f454c4602020100000000000000000000020016"), ["linux/s390x"]);
  assert.deepEqual(names("7f454c4601010100000000000000000002000300"), ["linux/386"]);
  assert.deepEqual(names("7f454c4602010100000000000000000002003e00"), ["linux/amd64"]);
  assert.deepEqual(names("7f454c4602010100000000000000000002000800"), ["linux/mips64le"]);
  assert.equal(elfIdentFromMagic(Buffer.from("cafebabe", "hex")), undefined);
  assert.deepEqual(decodeBinfmtBytes(escaped("7f454c46")), Uint8Array.from([0x7f, 0x45, 0x4c, 0x46]));
});

test("runnable platforms: native ones, plus those of enabled handlers with the F flag", async () => {
  const d = await fakeBinfmt({
    "qemu-aarch64": entryText(aarch64Hex, "OCF", true, "/usr/libexec/qemu-binfmt/aarch64-binfmt-P"),
    "qemu-arm": entryText(armHex, "OC"),
    "qemu-riscv64": entryText(riscvHex, "F", false),
    python: "enabled\ninterpreter /usr/bin/python3\nflags: \noffset 0\nmagic a70d0d0a\n",
  });
  const host = { os: "linux", architecture: "amd64" };
  const report = await detectEmulation({ binfmtDir: d, host });
  assert.deepEqual(
    report.runnable.map((r) => `${formatPlatform(r.platform)} ${r.native ? "native" : r.emulator}`),
    ["linux/amd64 native", "linux/386 native", "linux/arm64 /usr/libexec/qemu-binfmt/aarch64-binfmt-P"],
  );
  assert.deepEqual(
    report.unusable.map((u) => `${u.handler} ${u.reason}`),
    ["qemu-arm no-fix-binary", "qemu-riscv64 disabled"],
  );

  const detector = new EmulationDetector({ binfmtDir: d, host });
  assert.equal(await detector.canRun({ os: "linux", architecture: "arm64", variant: "v8" }), true);
  assert.equal(await detector.canRun({ os: "linux", architecture: "amd64" }), true);
  assert.equal((await detector.assertCanRun({ os: "linux", architecture: "arm64" })).native, false);
  await assert.rejects(
    detector.assertCanRun({ os: "linux", architecture: "riscv64" }),
    (e: unknown) =>
      e instanceof UserError &&
      /no emulator for linux\/riscv64: the binfmt_misc handler qemu-riscv64 is disabled/.test(e.message),
  );
  await assert.rejects(
    detector.assertCanRun({ os: "linux", architecture: "arm", variant: "v7" }),
    /without the F flag/,
  );
  await assert.rejects(
    detector.assertCanRun({ os: "linux", architecture: "s390x" }),
    (e: unknown) =>
      e instanceof UserError &&
      e.message ===
        "no emulator for linux/s390x: run `polyarch binfmt --install s390x` as root, or install qemu-user-static",
  );
});

test("an unmounted binfmt_misc means only native platforms, and says so", async () => {
  const empty = await mkdtemp(join(dir, "unmounted-"));
  const report = await detectEmulation({
    binfmtDir: empty,
    host: { os: "linux", architecture: "arm64" },
    aarch32: false,
  });
  assert.equal(report.binfmt.mounted, false);
  assert.deepEqual(
    report.runnable.map((r) => formatPlatform(r.platform)),
    ["linux/arm64"],
  );
  const detector = new EmulationDetector({
    binfmtDir: empty,
    host: { os: "linux", architecture: "arm64" },
    aarch32: false,
  });
  await assert.rejects(
    detector.assertCanRun({ os: "linux", architecture: "amd64" }),
    /binfmt_misc is not mounted/,
  );
  // An arm64 CPU with AArch32 runs arm/v7 itself.
  const withA32 = await detectEmulation({
    binfmtDir: empty,
    host: { os: "linux", architecture: "arm64" },
    aarch32: true,
  });
  assert.ok(withA32.runnable.some((r) => formatPlatform(r.platform) === "linux/arm/v7" && r.native));
  assert.equal((await readBinfmtState(empty)).entries.length, 0);
});

test("Debian's two definition formats parse to the same handler", () => {
  const conf = `# comment\n:qemu-aarch64:M::${escaped(aarch64Hex)}:${escaped(maskHex)}:/usr/libexec/qemu-binfmt/aarch64-binfmt-P:OPF\n`;
  const a = parseBinfmtDConf(conf, "conf")!;
  const b = parseBinfmtsFile(
    "qemu-aarch64",
    `package qemu-user-static\ninterpreter /usr/libexec/qemu-binfmt/aarch64-binfmt-P\nmagic ${escaped(aarch64Hex)}\noffset 0\nmask ${escaped(maskHex)}\ncredentials no\nfix_binary yes\npreserve yes\n`,
    "binfmts",
  )!;
  assert.deepEqual({ ...a, source: "" }, { ...b, source: "", flags: "OPF" });
  assert.equal(b.flags, "PF");
  assert.equal(
    registerLine({ ...a, flags: "OC" }, "/usr/bin/qemu-aarch64-static"),
    `:qemu-aarch64:M::${escaped(aarch64Hex)}:${escaped(maskHex)}:/usr/bin/qemu-aarch64-static:OCF`,
  );
});

test("install names: architectures, platforms, QEMU and handler names; unknown ones are errors", () => {
  assert.equal(qemuNameFromInput("arm64"), "aarch64");
  assert.equal(qemuNameFromInput("linux/arm/v7"), "arm");
  assert.equal(qemuNameFromInput("qemu-riscv64"), "riscv64");
  assert.equal(qemuNameFromInput("amd64"), "x86_64");
  assert.equal(qemuNameFromInput("386"), "i386");
  assert.equal(qemuNameFromInput("ppc64le"), "ppc64le");
  assert.throws(() => qemuNameFromInput("vax"), /unknown emulator "vax"/);
});

test("install registers installed definitions with F, skips handlers that already serve", async () => {
  const defs = await mkdtemp(join(dir, "defs-"));
  const binfmtD = join(defs, "binfmt.d");
  await mkdir(binfmtD);
  // /bin/true is not static on Debian, but the static-ELF check accepts QEMU's -static build beside it.
  const interpreter = "/usr/bin/qemu-aarch64-static";
  await writeFile(
    join(binfmtD, "qemu-aarch64.conf"),
    `:qemu-aarch64:M::${escaped(aarch64Hex)}:${escaped(maskHex)}:${interpreter}:OC\n`,
  );
  await writeFile(
    join(binfmtD, "qemu-riscv64.conf"),
    `:qemu-riscv64:M::${escaped(riscvHex)}:${escaped(maskHex)}:${interpreter}:F\n`,
  );
  const found = await installedQemuDefinitions({ binfmtD, binfmts: join(defs, "none") });
  assert.deepEqual([...found.keys()].sort(), ["aarch64", "riscv64"]);

  const proc = await fakeBinfmt({ "qemu-riscv64": entryText(riscvHex, "F") });
  const options = {
    binfmtDir: proc,
    definitions: { binfmtD, binfmts: join(defs, "none") },
    host: { os: "linux", architecture: "amd64" },
    assumeRoot: true,
  };
  await assert.rejects(installEmulators(["s390x"], options), /no QEMU emulator for s390x is installed/);
  let haveQemu = true;
  try {
    await readFile(interpreter);
  } catch {
    haveQemu = false;
  }
  if (!haveQemu) return;
  const results = await installEmulators(["riscv64", "arm64", "amd64"], options);
  assert.deepEqual(
    results.map((r) => `${r.name} ${r.status}`),
    ["riscv64 already-registered", "aarch64 registered", "x86_64 native"],
  );
  assert.equal(
    await readFile(join(proc, "register"), "utf8"),
    `:qemu-aarch64:M::${escaped(aarch64Hex)}:${escaped(maskHex)}:${interpreter}:OCF`,
  );
});

test("install refuses without root", async () => {
  if (process.getuid?.() === 0) return;
  await assert.rejects(installEmulators("all"), /needs root/);
});
