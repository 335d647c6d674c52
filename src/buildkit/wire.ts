import protobuf from "protobufjs";

/**
 * The part of BuildKit's wire protocol polyarch speaks, written from BuildKit's published .proto files
 * (control, worker, ops Platform, filesync, secrets, auth, health) and fsutil's Packet/Stat: only the fields
 * we send or read. Field numbers are what matters on the wire; the names are ours. protobufjs's JSON
 * descriptors keep this one small table instead of generated code.
 */
type Fields = Record<string, { type: string; id: number; rule?: "repeated"; keyType?: string }>;
const msg = (fields: Fields) => ({ fields });
const map = (id: number, type = "string") => ({ keyType: "string", type, id });

const root = protobuf.Root.fromJSON({
  nested: {
    Timestamp: msg({ seconds: { type: "int64", id: 1 }, nanos: { type: "int32", id: 2 } }),
    BytesMessage: msg({ data: { type: "bytes", id: 1 } }),
    Platform: msg({
      architecture: { type: "string", id: 1 },
      os: { type: "string", id: 2 },
      variant: { type: "string", id: 3 },
      osVersion: { type: "string", id: 4 },
    }),
    BuildkitVersion: msg({
      package: { type: "string", id: 1 },
      version: { type: "string", id: 2 },
      revision: { type: "string", id: 3 },
    }),
    WorkerRecord: msg({
      id: { type: "string", id: 1 },
      labels: map(2),
      platforms: { type: "Platform", id: 3, rule: "repeated" },
      buildkitVersion: { type: "BuildkitVersion", id: 5 },
    }),
    ListWorkersRequest: msg({ filter: { type: "string", id: 1, rule: "repeated" } }),
    ListWorkersResponse: msg({ record: { type: "WorkerRecord", id: 1, rule: "repeated" } }),
    InfoRequest: msg({}),
    InfoResponse: msg({ buildkitVersion: { type: "BuildkitVersion", id: 1 } }),
    DiskUsageRequest: msg({ filter: { type: "string", id: 1, rule: "repeated" } }),
    UsageRecord: msg({
      id: { type: "string", id: 1 },
      mutable: { type: "bool", id: 2 },
      inUse: { type: "bool", id: 3 },
      size: { type: "int64", id: 4 },
      createdAt: { type: "Timestamp", id: 6 },
      lastUsedAt: { type: "Timestamp", id: 7 },
      usageCount: { type: "int64", id: 8 },
      description: { type: "string", id: 9 },
      recordType: { type: "string", id: 10 },
      shared: { type: "bool", id: 11 },
      parents: { type: "string", id: 12, rule: "repeated" },
    }),
    DiskUsageResponse: msg({ record: { type: "UsageRecord", id: 1, rule: "repeated" } }),
    PruneRequest: msg({
      filter: { type: "string", id: 1, rule: "repeated" },
      all: { type: "bool", id: 2 },
      keepDuration: { type: "int64", id: 3 },
      reservedSpace: { type: "int64", id: 4 },
      maxUsedSpace: { type: "int64", id: 5 },
    }),
    CacheOptionsEntry: msg({ type: { type: "string", id: 1 }, attrs: map(2) }),
    CacheOptions: msg({
      exports: { type: "CacheOptionsEntry", id: 4, rule: "repeated" },
      imports: { type: "CacheOptionsEntry", id: 5, rule: "repeated" },
    }),
    Exporter: msg({ type: { type: "string", id: 1 }, attrs: map(2) }),
    SolveRequest: msg({
      ref: { type: "string", id: 1 },
      session: { type: "string", id: 5 },
      frontend: { type: "string", id: 6 },
      frontendAttrs: map(7),
      cache: { type: "CacheOptions", id: 8 },
      entitlements: { type: "string", id: 9, rule: "repeated" },
      exporters: { type: "Exporter", id: 13, rule: "repeated" },
    }),
    SolveResponse: msg({ exporterResponse: map(1) }),
    StatusRequest: msg({ ref: { type: "string", id: 1 } }),
    Vertex: msg({
      digest: { type: "string", id: 1 },
      inputs: { type: "string", id: 2, rule: "repeated" },
      name: { type: "string", id: 3 },
      cached: { type: "bool", id: 4 },
      started: { type: "Timestamp", id: 5 },
      completed: { type: "Timestamp", id: 6 },
      error: { type: "string", id: 7 },
    }),
    VertexStatus: msg({
      id: { type: "string", id: 1 },
      vertex: { type: "string", id: 2 },
      name: { type: "string", id: 3 },
      current: { type: "int64", id: 4 },
      total: { type: "int64", id: 5 },
      timestamp: { type: "Timestamp", id: 6 },
      started: { type: "Timestamp", id: 7 },
      completed: { type: "Timestamp", id: 8 },
    }),
    VertexLog: msg({
      vertex: { type: "string", id: 1 },
      timestamp: { type: "Timestamp", id: 2 },
      stream: { type: "int64", id: 3 },
      msg: { type: "bytes", id: 4 },
    }),
    VertexWarning: msg({
      vertex: { type: "string", id: 1 },
      level: { type: "int64", id: 2 },
      short: { type: "bytes", id: 3 },
      detail: { type: "bytes", id: 4, rule: "repeated" },
      url: { type: "string", id: 5 },
    }),
    StatusResponse: msg({
      vertexes: { type: "Vertex", id: 1, rule: "repeated" },
      statuses: { type: "VertexStatus", id: 2, rule: "repeated" },
      logs: { type: "VertexLog", id: 3, rule: "repeated" },
      warnings: { type: "VertexWarning", id: 4, rule: "repeated" },
    }),
    // fsutil's file-sync packets (types/wire.proto, types/stat.proto).
    Stat: msg({
      path: { type: "string", id: 1 },
      mode: { type: "uint32", id: 2 },
      uid: { type: "uint32", id: 3 },
      gid: { type: "uint32", id: 4 },
      size: { type: "int64", id: 5 },
      modTime: { type: "int64", id: 6 },
      linkname: { type: "string", id: 7 },
      devmajor: { type: "int64", id: 8 },
      devminor: { type: "int64", id: 9 },
      xattrs: map(10, "bytes"),
    }),
    Packet: msg({
      type: { type: "int32", id: 1 },
      stat: { type: "Stat", id: 2 },
      id: { type: "uint32", id: 3 },
      data: { type: "bytes", id: 4 },
    }),
    GetSecretRequest: msg({ id: { type: "string", id: 1 }, annotations: map(2) }),
    GetSecretResponse: msg({ data: { type: "bytes", id: 1 } }),
    CredentialsRequest: msg({ host: { type: "string", id: 1 } }),
    CredentialsResponse: msg({ username: { type: "string", id: 1 }, secret: { type: "string", id: 2 } }),
    HealthCheckRequest: msg({ service: { type: "string", id: 1 } }),
    // A failed call's grpc-status-details-bin (google.rpc.Status) and BuildKit's errdefs.Source in it.
    RpcStatus: msg({
      code: { type: "int32", id: 1 },
      message: { type: "string", id: 2 },
      details: { type: "Any", id: 3, rule: "repeated" },
    }),
    Any: msg({ typeUrl: { type: "string", id: 1 }, value: { type: "bytes", id: 2 } }),
    Position: msg({ line: { type: "int32", id: 1 }, character: { type: "int32", id: 2 } }),
    Range: msg({ start: { type: "Position", id: 1 }, end: { type: "Position", id: 2 } }),
    SourceInfo: msg({ filename: { type: "string", id: 1 }, data: { type: "bytes", id: 2 } }),
    ErrSource: msg({
      info: { type: "SourceInfo", id: 1 },
      ranges: { type: "Range", id: 2, rule: "repeated" },
    }),
    HealthCheckResponse: msg({ status: { type: "int32", id: 1 } }),
  },
});

/** One message type's codec: plain objects in, plain objects out (int64 as number, bytes as Buffer). */
export interface Codec<T> {
  encode(value: T): Buffer;
  decode(bytes: Buffer): T;
}

export function codec<T>(name: string): Codec<T> {
  const type = root.lookupType(name);
  return {
    encode: (value) => Buffer.from(type.encode(type.fromObject(value as object)).finish()),
    decode: (bytes) =>
      type.toObject(type.decode(bytes), { longs: Number, bytes: Buffer, defaults: true, arrays: true }) as T,
  };
}

// fsutil's Packet.PacketType.
export const PacketType = { STAT: 0, REQ: 1, DATA: 2, FIN: 3, ERR: 4 } as const;

export interface Timestamp {
  seconds: number;
  nanos: number;
}
export interface WirePlatform {
  architecture: string;
  os: string;
  variant: string;
  osVersion?: string;
}
export interface WireVersion {
  package: string;
  version: string;
  revision: string;
}
export interface WorkerRecord {
  id: string;
  labels: Record<string, string>;
  platforms: WirePlatform[];
  buildkitVersion?: WireVersion | null;
}
export interface UsageRecord {
  id: string;
  mutable: boolean;
  inUse: boolean;
  size: number;
  createdAt?: Timestamp | null;
  lastUsedAt?: Timestamp | null;
  usageCount: number;
  description: string;
  recordType: string;
  shared: boolean;
  parents: string[];
}
export interface WireStat {
  path: string;
  mode: number;
  uid: number;
  gid: number;
  size: number;
  modTime: number;
  linkname: string;
  devmajor: number;
  devminor: number;
  xattrs: Record<string, Buffer>;
}
export interface WirePacket {
  type: number;
  stat?: WireStat | null;
  id: number;
  data: Buffer;
}
export interface CacheEntry {
  type: string;
  attrs: Record<string, string>;
}
export interface SolveRequest {
  ref: string;
  session: string;
  frontend: string;
  frontendAttrs: Record<string, string>;
  cache: { exports: CacheEntry[]; imports: CacheEntry[] };
  entitlements: string[];
  exporters: { type: string; attrs: Record<string, string> }[];
}
export interface Vertex {
  digest: string;
  inputs: string[];
  name: string;
  cached: boolean;
  started?: Timestamp | null;
  completed?: Timestamp | null;
  error: string;
}
export interface VertexStatus {
  id: string;
  vertex: string;
  name: string;
  current: number;
  total: number;
  timestamp?: Timestamp | null;
  started?: Timestamp | null;
  completed?: Timestamp | null;
}
export interface VertexLog {
  vertex: string;
  timestamp?: Timestamp | null;
  stream: number;
  msg: Buffer;
}
export interface VertexWarning {
  vertex: string;
  level: number;
  short: Buffer;
  detail: Buffer[];
  url: string;
}
export interface StatusResponse {
  vertexes: Vertex[];
  statuses: VertexStatus[];
  logs: VertexLog[];
  warnings: VertexWarning[];
}

export interface ErrSource {
  info?: { filename: string; data: Buffer } | null;
  ranges: { start?: { line: number; character: number } | null }[];
}
