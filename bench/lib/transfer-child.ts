// One push or pull in its own process, so the benchmark can read this process's peak RSS.
//   transfer-child push STORE_DIR ROOT_DESCRIPTOR_JSON REF  |  transfer-child pull STORE_DIR PLATFORMS REF
import { openContentStore } from "../../src/content/index.ts";
import type { Descriptor } from "../../src/oci/descriptor.ts";
import { parsePlatform } from "../../src/oci/platform.ts";
import { pullImage } from "../../src/registry/pull.ts";
import { pushImage } from "../../src/registry/push.ts";
import { parseReference } from "../../src/registry/reference.ts";
import { RegistryClients } from "../../src/registry/registry-clients.ts";

async function transfer(op: string, storeDir: string, arg: string, ref: string): Promise<void> {
  const store = await openContentStore(storeDir);
  const clients = new RegistryClients();
  const start = performance.now();
  if (op === "push") {
    await pushImage(clients, store, JSON.parse(arg) as Descriptor, parseReference(ref));
  } else {
    await pullImage(clients, store, parseReference(ref), arg.split(",").map(parsePlatform));
  }
  const ms = performance.now() - start;
  await clients.close();
  process.stdout.write(JSON.stringify({ ms, maxRssMb: process.resourceUsage().maxRSS / 1024 }));
}

const [op, storeDir, arg, ref] = process.argv.slice(2) as [string, string, string, string];
await transfer(op, storeDir, arg, ref);
