// A separate process running one build, for the two-processes-one-state-dir test.
// argv: CONTEXT STATE_ROOT OUT_TAR; prints {"digest", "started"} as JSON.
import { build } from "../../../src/api/build.ts";
import { parseOutputs } from "../../../src/exporter/parse-outputs.ts";
import { hostPlatform } from "../../../src/oci/platform.ts";

const [context, stateRoot, out] = process.argv.slice(2) as [string, string, string];
const started: string[] = [];
const result = await build({
  context,
  stateRoot,
  platforms: [hostPlatform()],
  outputs: parseOutputs({ output: [`type=oci,dest=${out}`], tags: [], push: false }),
  progress: {
    emit: (e) => {
      if (e.type === "vertex.start") started.push(e.name);
    },
    close: async () => {},
  },
  execTimeoutMs: 60_000,
});
process.stdout.write(JSON.stringify({ digest: result.descriptor.digest, started }));
