import { UserError } from "../../errors/user-error.ts";
import { formatPlatform } from "../../oci/platform.ts";
import { installEmulators, uninstallEmulators } from "../../worker/emulation/install.ts";
import { installNameFor } from "../../worker/emulation/names.ts";
import { detectEmulation, type EmulationReport } from "../../worker/emulation/runnable.ts";
import type { BinfmtOptions } from "./binfmt.ts";

function listItems(text: string): string[] {
  return text
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);
}

function pretty(report: EmulationReport): string {
  const rows = report.runnable.map((r) => [
    formatPlatform(r.platform),
    r.native ? "native" : `${r.emulator} (${r.handler})`,
  ]);
  const width = Math.max(8, ...rows.map(([p]) => p!.length)) + 2;
  const lines = [
    `${"PLATFORM".padEnd(width)}RUNS WITH`,
    ...rows.map(([p, how]) => `${p!.padEnd(width)}${how}`),
  ];
  if (!report.binfmt.mounted) lines.push("", "binfmt_misc is not mounted: only native platforms can run.");
  for (const u of report.unusable) {
    const why = u.reason === "disabled" ? "is disabled" : "lacks the F flag, so containers cannot use it";
    const names = u.platforms.map((p) => formatPlatform(p)).join(", ");
    lines.push(
      "",
      `note: handler ${u.handler} (${names}) ${why}; \`polyarch binfmt --install ${installNameFor(u.platforms[0]!)}\` as root fixes it`,
    );
  }
  return `${lines.join("\n")}\n`;
}

/** The shape tonistiigi/binfmt prints, so scripts written for it keep working. */
function json(report: EmulationReport): string {
  return `${JSON.stringify(
    {
      supported: report.runnable.map((r) => formatPlatform(r.platform)),
      emulators: [...new Set(report.runnable.filter((r) => !r.native).map((r) => r.handler!))],
    },
    null,
    2,
  )}\n`;
}

export async function binfmtAction(opts: BinfmtOptions): Promise<void> {
  const format = opts.format ?? "pretty";
  if (format !== "pretty" && format !== "json") {
    throw new UserError(`unknown --format ${JSON.stringify(format)}`, {
      hint: "use --format pretty or --format json",
    });
  }
  if (opts.uninstall) {
    if (process.getuid?.() !== 0)
      throw new UserError("removing binfmt_misc handlers needs root", {
        hint: `run it as root: sudo polyarch binfmt --uninstall ${opts.uninstall}`,
      });
    for (const name of await uninstallEmulators(listItems(opts.uninstall)))
      process.stderr.write(`uninstalling: ${name} OK\n`);
  }
  if (opts.install) {
    const wanted = opts.install.trim() === "all" ? "all" : listItems(opts.install);
    for (const r of await installEmulators(wanted)) {
      const what = r.platforms.map((p) => formatPlatform(p)).join(", ");
      const status = { registered: "OK", "already-registered": "already registered", native: "native" }[
        r.status
      ];
      const name = r.platforms[0] ? installNameFor(r.platforms[0]) : r.name;
      process.stderr.write(`installing: ${name} (${what}) ${status}\n`);
    }
  }
  const report = await detectEmulation();
  process.stdout.write(format === "json" ? json(report) : pretty(report));
}
