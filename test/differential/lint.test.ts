/**
 * Differential: `--call check` (buildx's frontend.lint subrequest) by BuildKit and by polyarch on the same
 * Dockerfiles; each finding (rule, URL, detail, the framed lines) must be printed the same, in the same order.
 */
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { Differential } from "./support.ts";

let d: Differential;
before(async () => {
  d = await Differential.start();
});
after(() => d?.[Symbol.asyncDispose]());

test("EXPOSE: an upper-case protocol and a host address or port are ExposeProtoCasing and ExposeInvalidFormat", async () => {
  const dockerfile = [
    "FROM scratch",
    "ARG P=8443/TCP",
    "EXPOSE 80/TCP 127.0.0.1:8080:80 9000:90/udp $P",
    "EXPOSE 53/UDP 22 [::1]:2222:22/Sctp",
    "",
  ].join("\n");
  const seen = await d.checkBoth({ Dockerfile: dockerfile });
  assert.ok(seen.buildkit.length >= 5, seen.output);
  assert.deepEqual(seen.polyarch, seen.buildkit, seen.output);
});

test("CopyIgnoredFile (experimental): COPY and ADD from the context of what .dockerignore excludes", async () => {
  const dockerfile = [
    "# check=experimental=CopyIgnoredFile",
    "FROM scratch AS other",
    "COPY kept.txt /",
    "FROM scratch",
    "ARG DIR=logs",
    "COPY secret.txt /",
    "COPY $DIR/a.log kept.txt /l/",
    "ADD secret.txt /added",
    "COPY ./secret.txt /dot",
    "COPY --from=other secret.txt /from-stage",
    "COPY kept.txt /",
    "",
  ].join("\n");
  const seen = await d.checkBoth({
    Dockerfile: dockerfile,
    ".dockerignore": "secret.txt\nlogs\n",
    "secret.txt": "s\n",
    "kept.txt": "k\n",
    "logs/a.log": "l\n",
  });
  assert.ok(seen.buildkit.length >= 3, seen.output);
  assert.deepEqual(seen.polyarch, seen.buildkit, seen.output);
});

test("CopyIgnoredFile is not reported unless asked for (experimental in BuildKit v0.24)", async () => {
  const seen = await d.checkBoth({
    Dockerfile: "FROM scratch\nCOPY secret.txt /\n",
    ".dockerignore": "secret.txt\n",
    "secret.txt": "s\n",
  });
  assert.deepEqual(seen.polyarch, seen.buildkit, seen.output);
  assert.deepEqual(seen.polyarch, []);
});
