import assert from "node:assert/strict";
import { test } from "node:test";
import { parseAttestFlags } from "../../../src/attest/attest-options.ts";
import { imagePurl, packagePurl } from "../../../src/attest/purl.ts";
import { UserError } from "../../../src/errors/user-error.ts";

test("no flags: min provenance by default, for image outputs only (buildx's inline-only)", () => {
  assert.deepEqual(parseAttestFlags({}), { provenance: { mode: "min" }, style: "index", implicit: true });
  assert.deepEqual(parseAttestFlags({}, { BUILDX_NO_DEFAULT_ATTESTATIONS: "1" }), {
    style: "index",
    implicit: false,
  });
});

test("buildx's spellings: --provenance, --sbom, --attest", () => {
  assert.deepEqual(parseAttestFlags({ provenance: "mode=max" }).provenance, { mode: "max" });
  assert.deepEqual(parseAttestFlags({ provenance: "true" }).provenance, { mode: "min" });
  assert.equal(parseAttestFlags({ provenance: "false" }).provenance, undefined);
  assert.equal(parseAttestFlags({ attest: ["type=provenance,disabled=true"] }).provenance, undefined);
  const sbom = parseAttestFlags({ sbom: "true" });
  assert.deepEqual(sbom.sbom, {});
  // --sbom alone keeps the default provenance, and asked-for attestations reach OCI layouts too.
  assert.deepEqual(sbom.provenance, { mode: "min" });
  assert.equal(sbom.implicit, false);
  assert.equal(parseAttestFlags({ sbom: "false" }).sbom, undefined);
  assert.deepEqual(parseAttestFlags({ attest: ["type=sbom,scan-context=true"] }).sbom, { scanContext: true });
  const both = parseAttestFlags({
    attest: ["type=sbom,style=referrers", "type=provenance,mode=max,style=referrers"],
  });
  assert.deepEqual(both, {
    sbom: {},
    provenance: { mode: "max" },
    style: "referrers",
    implicit: false,
  });
});

test("mistakes are UserErrors that say what to write", () => {
  for (const flags of [
    { provenance: "mode=huge" },
    { provenance: "version=v0.2" },
    { attest: ["type=vex"] },
    { attest: ["type=sbom,style=index", "type=provenance,style=referrers"] },
    { sbom: "generator=docker/buildkit-syft-scanner" },
    { attest: ["type=sbom,scan-context=maybe"] },
    { provenance: "maybe" },
    { provenance: "mode=max,colour=red" },
  ]) {
    assert.throws(() => parseAttestFlags(flags), UserError, JSON.stringify(flags));
  }
  assert.throws(() => parseAttestFlags({}, { BUILDX_NO_DEFAULT_ATTESTATIONS: "perhaps" }), UserError);
});

test("purls: images as BuildKit writes them, packages with sorted qualifiers", () => {
  assert.equal(
    imagePurl("docker.io/library/alpine:3.20", { os: "linux", architecture: "arm", variant: "v7" }),
    "pkg:docker/alpine@3.20?platform=linux%2Farm%2Fv7",
  );
  assert.equal(
    imagePurl("127.0.0.1:5000/team/app:1", { os: "linux", architecture: "amd64" }),
    "pkg:docker/127.0.0.1%3A5000/team/app@1?platform=linux%2Famd64",
  );
  // An oci-layout:// context's image is local, as BuildKit marks it: pkg:oci, no registry.
  assert.equal(
    imagePurl(`oci-layout.invalid/base@sha256:${"a".repeat(64)}`, { os: "linux", architecture: "amd64" }),
    `pkg:oci/base@sha256%3A${"a".repeat(64)}?platform=linux%2Famd64`,
  );
  assert.equal(
    packagePurl("deb", "debian", "libc6", "2.36-9+deb12u7", { upstream: "glibc", arch: "arm64" }),
    "pkg:deb/debian/libc6@2.36-9%2Bdeb12u7?arch=arm64&upstream=glibc",
  );
});
