/**
 * `attack(name, fn)` is a node:test test whose name starts with "attack: ", run with host canaries
 * planted; the suite's reporter (./reporter.mjs) counts them and prints `N attacks, M escaped`. An attack
 * escapes when its check of the host (or of what polyarch produced) fails.
 */
import { test } from "node:test";
import { type HostCanaries, plantHostCanaries } from "./host-canary.ts";

export function attack(name: string, fn: (canaries: HostCanaries) => Promise<void>): void {
  test(`attack: ${name}`, async () => {
    using canaries = plantHostCanaries();
    try {
      await fn(canaries);
    } finally {
      canaries.check();
    }
  });
}
