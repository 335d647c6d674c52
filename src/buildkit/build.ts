import { createHash, randomBytes } from "node:crypto";
import { basename, dirname, isAbsolute, resolve } from "node:path";
import type { ContentStore } from "../content/types.ts";
import { UserError } from "../errors/user-error.ts";
import type { Descriptor } from "../oci/descriptor.ts";
import { formatPlatform, type Platform } from "../oci/platform.ts";
import type { ProgressSink } from "../progress/events.ts";
import type { CredentialSource } from "../registry/credentials.ts";
import { ControlClient } from "./control-client.ts";
import type { BuildKitEndpoint } from "./endpoint.ts";
import { ingestOciArchive, type OciResult, resolveImages } from "./oci-result.ts";
import { authMethod } from "./session/auth.ts";
import { fileSendMethod } from "./session/file-send.ts";
import { fileSyncMethod, type SyncCounters } from "./session/filesync.ts";
import type { SessionMethod } from "./session/rpc.ts";
import { type SecretValue, secretsMethod } from "./session/secrets.ts";
import { BuildKitSession } from "./session/session.ts";
import { StatusTranslator } from "./status-progress.ts";
import type { CacheEntry, SolveRequest } from "./wire.ts";

/** Where a BuildKit node's result goes. */
export type BuildKitOutput =
  /** The OCI archive streams back into our content store (verified blob by blob). */
  | { type: "oci"; store: ContentStore }
  /** The daemon pushes the image itself; `pushByDigest` pushes no tag (the caller assembles the index). */
  | { type: "push"; name: string; pushByDigest?: boolean };

/** One build on one BuildKit daemon, in the terms of `polyarch build` (buildx's flags). */
export interface BuildKitBuildRequest {
  /** The node's name: prefixes its progress lines. */
  node: string;
  endpoint: BuildKitEndpoint;
  contextDir: string;
  /** The Dockerfile's path (default: `Dockerfile` in the context). */
  dockerfile?: string;
  platforms: readonly Platform[];
  buildArgs?: Readonly<Record<string, string>>;
  target?: string;
  /**
   * Builds with the daemon's own dockerfile.v0 even when the Dockerfile has `# syntax=` (the daemon would
   * otherwise pull and run that frontend image): for callers that accept only the official names, which
   * the built-in frontend serves.
   */
  builtinFrontend?: boolean;
  /** `--label KEY=VALUE` for the image config. */
  labels?: Readonly<Record<string, string>>;
  secrets?: ReadonlyMap<string, SecretValue>;
  /**
   * `--build-context NAME=VALUE`: `docker-image://…`, a git or https URL (passed to the daemon as they are),
   * or a local directory (sent over the session like the main context).
   */
  namedContexts?: Readonly<Record<string, string>>;
  noCache?: boolean;
  /** `--cache-from` / `--cache-to` entries (e.g. `{type: "registry", attrs: {ref: …, mode: "max"}}`). */
  cacheFrom?: readonly CacheEntry[];
  cacheTo?: readonly CacheEntry[];
  output: BuildKitOutput;
  /** Registry logins the daemon may ask for (pulls of bases, the push). */
  credentials?: CredentialSource;
  progress?: ProgressSink;
  /**
   * Scopes the daemon's cache of the synced context: builds with the same key (default: derived from the
   * context's path) send only what changed.
   */
  sharedKey?: string;
  signal?: AbortSignal;
}

export interface BuildKitBuildResult {
  /** The daemon's exporter response (e.g. `containerimage.digest`). */
  exporterResponse: Record<string, string>;
  /** For `oci`: the index.json root and each platform's manifest, all in the store. */
  oci?: OciResult;
  /** For `push`: the pushed image's root descriptor (the index for several platforms). */
  pushed?: Descriptor;
  /** What the daemon asked for of each synced directory (`context`, `dockerfile`, named contexts). */
  sync: ReadonlyMap<string, SyncCounters>;
}

const isUrlContext = (v: string) =>
  /^(docker-image|oci-layout|target|input):\/\/|^[a-z+]+:\/\/|^git@/.test(v);

/** Builds on a BuildKit daemon through its dockerfile.v0 frontend and brings the result back. */
export async function buildWithBuildKit(req: BuildKitBuildRequest): Promise<BuildKitBuildResult> {
  const where = `BuildKit node ${req.node} (${req.endpoint.address})`;
  if (req.platforms.length === 0) throw new UserError(`${where}: no platform to build`);
  const contextDir = resolve(req.contextDir);
  const dockerfile = resolve(contextDir, req.dockerfile ?? "Dockerfile");
  const dirs = new Map<string, string>([
    ["context", contextDir],
    ["dockerfile", dirname(dockerfile)],
  ]);
  const attrs: Record<string, string> = {
    filename: basename(dockerfile),
    platform: req.platforms.map(formatPlatform).join(","),
  };
  for (const [k, v] of Object.entries(req.buildArgs ?? {})) attrs[`build-arg:${k}`] = v;
  if (req.target) attrs.target = req.target;
  // The frontend forwards to a `# syntax=` image only when no command line was given it.
  if (req.builtinFrontend) attrs.cmdline = "";
  for (const [k, v] of Object.entries(req.labels ?? {})) attrs[`label:${k}`] = v;
  // A frontend's own solve imports only the caches named in its attributes (as buildctl sets them too).
  if (req.cacheFrom?.length)
    attrs["cache-imports"] = JSON.stringify(req.cacheFrom.map((c) => ({ Type: c.type, Attrs: c.attrs })));
  if (req.noCache) attrs["no-cache"] = "";
  for (const [name, value] of Object.entries(req.namedContexts ?? {})) {
    if (isUrlContext(value)) attrs[`context:${name}`] = value;
    else {
      const local = `named-${name}`;
      dirs.set(local, isAbsolute(value) ? value : resolve(contextDir, value));
      attrs[`context:${name}`] = `local:${local}`;
    }
  }

  const counters = new Map<string, SyncCounters>();
  let ingested: Promise<readonly Descriptor[]> | undefined;
  const methods: SessionMethod[] = [fileSyncMethod(dirs, counters)];
  if (req.secrets && req.secrets.size > 0) methods.push(secretsMethod(req.secrets));
  if (req.credentials) methods.push(authMethod(req.credentials));
  const exporter: SolveRequest["exporters"][number] =
    req.output.type === "oci"
      ? { type: "oci", attrs: {} }
      : {
          type: "image",
          attrs: {
            name: req.output.name,
            push: "true",
            ...(req.output.pushByDigest ? { "push-by-digest": "true" } : {}),
          },
        };
  if (req.output.type === "oci") {
    const store = req.output.store;
    methods.push(
      fileSendMethod(async (data) => {
        const p = ingestOciArchive(data, store, where);
        ingested = p;
        await p;
      }),
    );
  }

  const control = new ControlClient(req.endpoint);
  const sharedKey =
    req.sharedKey ?? `polyarch-${createHash("sha256").update(contextDir).digest("hex").slice(0, 32)}`;
  const session = new BuildKitSession(`polyarch:${req.node}`, sharedKey, methods);
  const ref = randomBytes(16).toString("hex");
  const translator = new StatusTranslator(req.node);
  try {
    session.start(control);
    const status = control.status(ref);
    const statusDone = new Promise<void>((resolveStatus) => {
      status.on("data", (s) => {
        for (const e of translator.translate(s)) req.progress?.emit(e);
      });
      status.on("end", () => resolveStatus());
      // The solve's own result carries any error; the status stream only ends with it.
      status.on("error", () => resolveStatus());
    });
    const exporterResponse = await control.solve(
      {
        ref,
        session: session.id,
        frontend: "dockerfile.v0",
        frontendAttrs: attrs,
        cache: {
          exports: (req.cacheTo ?? []).map((c) => ({ type: c.type, attrs: { ...c.attrs } })),
          imports: (req.cacheFrom ?? []).map((c) => ({ type: c.type, attrs: { ...c.attrs } })),
        },
        entitlements: [],
        exporters: [exporter],
      },
      req.signal,
    );
    await statusDone;
    const result: BuildKitBuildResult = { exporterResponse, sync: counters };
    if (req.output.type === "oci") {
      if (!ingested) throw new UserError(`${where}: the daemon sent no OCI archive`);
      result.oci = await resolveImages(await ingested, req.output.store, where);
    } else result.pushed = pushedDescriptor(exporterResponse, where);
    return result;
  } catch (e) {
    if (e instanceof UserError && e.message.startsWith("BuildKit node")) {
      // The daemon names the Dockerfile by its base name; the user gave a path.
      const location =
        e.location && e.location.file === basename(dockerfile)
          ? { ...e.location, file: dockerfile }
          : e.location;
      throw new UserError(e.message.replace(`BuildKit node ${req.endpoint.address}`, where), {
        ...(e.hint ? { hint: e.hint } : {}),
        ...(location ? { location } : {}),
        cause: e,
      });
    }
    throw e;
  } finally {
    await session.close();
    control.close();
  }
}

function pushedDescriptor(response: Record<string, string>, where: string): Descriptor {
  const encoded = response["containerimage.descriptor"];
  if (encoded) {
    try {
      return JSON.parse(Buffer.from(encoded, "base64").toString("utf8")) as Descriptor;
    } catch {
      // fall through to the digest alone
    }
  }
  const digest = response["containerimage.digest"];
  if (!digest) throw new UserError(`${where}: the daemon reported no pushed image`);
  return { mediaType: "application/vnd.oci.image.index.v1+json", digest, size: 0 } as Descriptor;
}
