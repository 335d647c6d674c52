/**
 * The SLSA provenance v1 predicate of one platform's image, in the shape BuildKit records it
 * (`attest:provenance=mode=…,version=v1`): build type, external parameters (frontend and, in max mode, its
 * arguments), resolved dependencies (base images with the digest they were pinned to, git and http
 * sources), and in max mode the build steps (BuildKit's `llbDefinition` form, over polyarch's graph) and
 * the Dockerfile.
 *
 * Min mode carries no time and no invocation id: the same inputs give the same bytes, so an unchanged
 * rebuild keeps its index digest (BuildKit stamps both; see the README's deliberate differences).
 */

import { redactGitRemote } from "../graph/git-url.ts";
import type { BuildGraph, Vertex } from "../graph/types.ts";
import { reachableVertices, topologicalOrder } from "../graph/walk.ts";
import type { Digest } from "../oci/digest.ts";
import { digestHex } from "../oci/digest.ts";
import { formatPlatform, type Platform } from "../oci/platform.ts";
import type { ProvenanceMode } from "./attest-options.ts";
import { imagePurl } from "./purl.ts";

export const buildKitBuildType =
  "https://github.com/moby/buildkit/blob/master/docs/attestations/slsa-definitions.md";

export interface ProvenanceInput {
  mode: ProvenanceMode;
  platform: Platform;
  builderPlatform: Platform;
  graph: BuildGraph;
  /** The platform's output vertex. */
  root: Digest;
  /** Frontend attributes as BuildKit names them: `build-arg:NAME`, `target`, `label:NAME`, … (max mode). */
  args: Readonly<Record<string, string>>;
  /** The names of the local sources the client served (BuildKit: context, dockerfile). */
  locals: readonly string[];
  /** A remote context (git or tarball URL) the Dockerfile came from. */
  configSource?: { uri: string; path?: string };
  /** Max mode: the Dockerfile's name and text. */
  dockerfile?: { name: string; text: string };
  /** Max mode (or SOURCE_DATE_EPOCH): when the build ran. */
  times?: { startedOn: string; finishedOn: string };
  invocationId?: string;
}

interface ResourceDescriptor {
  uri: string;
  digest?: Record<string, string>;
}

export function provenancePredicate(input: ProvenanceInput): Record<string, unknown> {
  const reachable = reachableVertices(input.graph, [input.root]);
  const order = topologicalOrder(input.graph, [input.root]).filter((d) => reachable.has(d));
  const request: Record<string, unknown> = { frontend: "dockerfile.v0" };
  if (input.mode === "max" && Object.keys(input.args).length) request.args = sorted(input.args);
  request.locals = input.locals.map((name) => ({ name }));
  const configSource: Record<string, unknown> = {};
  if (input.configSource) {
    configSource.uri = redactGitRemote(input.configSource.uri);
    if (input.configSource.path) configSource.path = input.configSource.path;
  }
  const internal: Record<string, unknown> = {};
  const metadata: Record<string, unknown> = {};
  if (input.invocationId) metadata.invocationID = input.invocationId;
  if (input.times) Object.assign(metadata, input.times);
  if (input.mode === "max") {
    const steps = llbDefinition(input.graph, order);
    internal.buildConfig = steps;
    metadata.buildkit_metadata = { source: sourceMetadata(input, order, steps.digestMapping) };
  } else {
    metadata.buildkit_metadata = {};
  }
  internal.builderPlatform = formatPlatform(input.builderPlatform);
  metadata.buildkit_completeness = { request: input.mode === "max", resolvedDependencies: false };
  return {
    buildDefinition: {
      buildType: buildKitBuildType,
      resolvedDependencies: dependencies(input.graph, order),
      externalParameters: { configSource, request },
      internalParameters: internal,
    },
    runDetails: { builder: { id: "" }, metadata },
  };
}

/** Base images (with the digest each was pinned to), git and http sources, in build order, each once. */
function dependencies(graph: BuildGraph, order: readonly Digest[]): ResourceDescriptor[] {
  const out: ResourceDescriptor[] = [];
  const seen = new Set<string>();
  const add = (d: ResourceDescriptor) => {
    const key = JSON.stringify(d);
    if (seen.has(key)) return;
    seen.add(key);
    out.push(d);
  };
  for (const digest of order) {
    const op = graph.vertices[digest]!.op;
    if (op.kind !== "source") continue;
    const s = op.source;
    if (s.type === "image") {
      const ref = s.ref.split("@")[0]!;
      const pinned = s.digest ?? (s.ref.includes("@") ? (s.ref.split("@")[1] as Digest) : undefined);
      const d: ResourceDescriptor = { uri: imagePurl(ref, s.platform) };
      if (pinned) d.digest = { sha256: digestHex(pinned) };
      add(d);
    } else if (s.type === "git") {
      // Credentials in a URL never reach the provenance (it is pushed for anyone who can pull to read).
      const d: ResourceDescriptor = { uri: `${redactGitRemote(s.remote)}${s.ref ? `#${s.ref}` : ""}` };
      if (s.checksum && /^[0-9a-f]{40}$/.test(s.checksum)) d.digest = { sha1: s.checksum };
      add(d);
    } else if (s.type === "http") {
      const d: ResourceDescriptor = { uri: redactGitRemote(s.url) };
      if (s.checksum) d.digest = { sha256: digestHex(s.checksum) };
      add(d);
    }
  }
  return out;
}

/** The steps as BuildKit lists them: `stepN` ids in build order, inputs as `stepM:0`, and the digest map. */
function llbDefinition(graph: BuildGraph, order: readonly Digest[]) {
  const ids = new Map<Digest, string>();
  for (const [i, d] of order.entries()) ids.set(d, `step${i}`);
  const llb = order.map((d) => {
    const v: Vertex = graph.vertices[d]!;
    const step: Record<string, unknown> = { id: ids.get(d)!, op: redactedOp(v.op) };
    if (v.inputs.length) step.inputs = v.inputs.map((i) => `${ids.get(i)}:0`);
    return step;
  });
  const digestMapping: Record<string, string> = {};
  for (const d of [...order].sort()) digestMapping[d] = ids.get(d)!;
  return { llbDefinition: llb, digestMapping };
}

/** A step's op as recorded: the URL of a git or http source without its credentials. */
function redactedOp(op: Vertex["op"]): Vertex["op"] {
  if (op.kind !== "source") return op;
  const s = op.source;
  if (s.type === "git") return { ...op, source: { ...s, remote: redactGitRemote(s.remote) } };
  if (s.type === "http") return { ...op, source: { ...s, url: redactGitRemote(s.url) } };
  return op;
}

/** Where each step comes from in the Dockerfile, and the Dockerfile itself (base64, as BuildKit). */
function sourceMetadata(input: ProvenanceInput, order: readonly Digest[], mapping: Record<string, string>) {
  const locations: Record<string, unknown> = {};
  for (const d of order) {
    const loc = input.graph.vertices[d]!.meta?.location;
    const id = mapping[d]!;
    locations[id] = loc
      ? { locations: [{ ranges: [{ start: { line: loc.line }, end: { line: loc.line } }] }] }
      : {};
  }
  const infos = input.dockerfile
    ? [
        {
          filename: input.dockerfile.name,
          language: "Dockerfile",
          data: Buffer.from(input.dockerfile.text, "utf8").toString("base64"),
        },
      ]
    : [];
  return { locations, infos };
}

function sorted(r: Readonly<Record<string, string>>): Record<string, string> {
  return Object.fromEntries(Object.entries(r).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}
