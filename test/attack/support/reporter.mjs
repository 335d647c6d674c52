// A node:test reporter for the attack and fault suites: counts "attack: " and "fault: " tests across all
// files and prints one summary line each at the end (failures are listed by name). Used next to the spec
// reporter: node --test --test-reporter=spec --test-reporter-destination=stdout
//   --test-reporter=./test/attack/support/reporter.mjs --test-reporter-destination=stdout
export default async function* suiteSummary(source) {
  const attacks = { total: 0, escaped: [] };
  const faults = { total: 0, failed: [] };
  const figures = [];
  for await (const event of source) {
    if (event.type === "test:diagnostic" && /^figure: /.test(event.data.message))
      figures.push(event.data.message);
    if (event.type !== "test:pass" && event.type !== "test:fail") continue;
    const { name } = event.data;
    if (event.data.details?.type === "suite") continue;
    if (name.startsWith("attack: ")) {
      attacks.total++;
      if (event.type === "test:fail") attacks.escaped.push(name);
    } else if (name.startsWith("fault: ")) {
      faults.total++;
      if (event.type === "test:fail") faults.failed.push(name);
    }
  }
  if (attacks.total > 0) {
    yield `\nattack suite: ${attacks.total} attacks, ${attacks.escaped.length} escaped\n`;
    for (const n of attacks.escaped) yield `  escaped: ${n}\n`;
  }
  if (faults.total > 0 || figures.length > 0) {
    yield `fault suite: ${faults.total} fault runs, ${faults.failed.length} failed\n`;
    for (const f of figures) yield `  ${f}\n`;
    for (const n of faults.failed) yield `  failed: ${n}\n`;
  }
}
