import { UserError } from "../errors/user-error.ts";
import { isDigest } from "../oci/digest.ts";
import { isBaseName } from "./http-filename.ts";
import { isHostName, isIpAddress, ulimitNames } from "./step-options.ts";
import type { ExecMount, FileAction, Op, Source, Vertex } from "./types.ts";

/**
 * Checks that a value read from JSON is a well-formed vertex: a known op with fields of the right types,
 * inputs that are digests, and input indices that point inside `inputs`. `where` names it in errors.
 */
export function validateVertex(value: unknown, where: string): Vertex {
  const v = record(value, where);
  const inputs = array(v.inputs, `${where}.inputs`).map((d, i) => {
    if (typeof d !== "string" || !isDigest(d)) fail(`${where}.inputs[${i}] is not a digest`);
    return d;
  });
  validateOp(v.op, `${where}.op`, inputs.length);
  if (v.meta !== undefined) record(v.meta, `${where}.meta`);
  return v as unknown as Vertex;
}

function validateOp(value: unknown, where: string, inputCount: number): Op {
  const op = record(value, where);
  const index = (x: unknown, w: string) => {
    if (!Number.isInteger(x) || (x as number) < 0 || (x as number) >= inputCount)
      fail(`${w} is not a valid input index`);
  };
  switch (op.kind) {
    case "source":
      validateSource(op.source, `${where}.source`);
      if (inputCount !== 0) fail(`${where}: a source op has no inputs`);
      break;
    case "exec":
      strings(op.args, `${where}.args`);
      if ((op.args as string[]).length === 0) fail(`${where}.args is empty`);
      strings(op.env, `${where}.env`);
      str(op.cwd, `${where}.cwd`);
      str(op.user, `${where}.user`);
      oneOf(op.network, ["default", "none", "host"], `${where}.network`);
      oneOf(op.security, ["sandbox", "insecure"], `${where}.security`);
      platform(op.platform, `${where}.platform`);
      stepOptions(op, where);
      if (inputCount < 1) fail(`${where}: an exec op needs its root filesystem as input 0`);
      array(op.mounts, `${where}.mounts`).forEach((m, i) => {
        validateMount(m, `${where}.mounts[${i}]`, index);
      });
      break;
    case "file":
      if (inputCount < 1) fail(`${where}: a file op needs its destination as input 0`);
      array(op.actions, `${where}.actions`).forEach((a, i) => {
        validateAction(a, `${where}.actions[${i}]`, index);
      });
      break;
    case "merge":
      if (inputCount < 1) fail(`${where}: a merge op needs inputs`);
      break;
    case "diff":
      if (inputCount !== 2) fail(`${where}: a diff op needs exactly two inputs`);
      break;
    default:
      fail(`${where}.kind ${JSON.stringify(op.kind)} is not a known op`);
  }
  return op as unknown as Op;
}

/** --add-host, --ulimit, --shm-size as a step carries them: extraHosts go verbatim into /etc/hosts. */
function stepOptions(op: Record<string, unknown>, where: string): void {
  if (op.extraHosts !== undefined)
    array(op.extraHosts, `${where}.extraHosts`).forEach((h, i) => {
      const e = record(h, `${where}.extraHosts[${i}]`);
      if (typeof e.host !== "string" || !isHostName(e.host))
        fail(`${where}.extraHosts[${i}].host is not a host name`);
      if (typeof e.ip !== "string" || !isIpAddress(e.ip))
        fail(`${where}.extraHosts[${i}].ip is not an IP address`);
    });
  if (op.ulimits !== undefined)
    array(op.ulimits, `${where}.ulimits`).forEach((u, i) => {
      const w = `${where}.ulimits[${i}]`;
      const l = record(u, w);
      if (typeof l.name !== "string" || !ulimitNames.includes(l.name)) fail(`${w}.name is not a ulimit type`);
      int(l.soft, `${w}.soft`);
      int(l.hard, `${w}.hard`);
      if ((l.soft as number) < 0 || (l.soft as number) > (l.hard as number))
        fail(`${w}: soft must be 0..hard`);
    });
  if (op.shmSizeBytes !== undefined) {
    int(op.shmSizeBytes, `${where}.shmSizeBytes`);
    if ((op.shmSizeBytes as number) <= 0) fail(`${where}.shmSizeBytes must be positive`);
  }
}

function validateSource(value: unknown, where: string): Source {
  const s = record(value, where);
  switch (s.type) {
    case "image":
      str(s.ref, `${where}.ref`);
      if (s.digest !== undefined && (typeof s.digest !== "string" || !isDigest(s.digest)))
        fail(`${where}.digest is not a digest`);
      platform(s.platform, `${where}.platform`);
      break;
    case "local":
      str(s.name, `${where}.name`);
      for (const k of ["includePatterns", "excludePatterns", "followPaths"])
        if (s[k] !== undefined) strings(s[k], `${where}.${k}`);
      break;
    case "scratch":
      break;
    case "http":
      str(s.url, `${where}.url`);
      str(s.filename, `${where}.filename`);
      if (!isBaseName(s.filename as string))
        fail(`${where}.filename ${JSON.stringify(s.filename)} is not a plain file name`);
      if (s.checksum !== undefined && (typeof s.checksum !== "string" || !isDigest(s.checksum)))
        fail(`${where}.checksum is not a digest`);
      break;
    case "git":
      str(s.remote, `${where}.remote`);
      str(s.ref, `${where}.ref`);
      bool(s.keepGitDir, `${where}.keepGitDir`);
      break;
    default:
      fail(`${where}.type ${JSON.stringify(s.type)} is not a known source`);
  }
  return s as unknown as Source;
}

function validateMount(value: unknown, where: string, index: (x: unknown, w: string) => void): ExecMount {
  const m = record(value, where);
  switch (m.type) {
    case "bind":
      absPath(m.target, `${where}.target`);
      index(m.input, `${where}.input`);
      str(m.source, `${where}.source`);
      bool(m.readonly, `${where}.readonly`);
      break;
    case "cache":
      absPath(m.target, `${where}.target`);
      str(m.id, `${where}.id`);
      if ((m.id as string).includes("\u0000")) fail(`${where}.id may not contain NUL`);
      oneOf(m.sharing, ["shared", "private", "locked"], `${where}.sharing`);
      if (m.acrossPlatforms !== undefined && m.acrossPlatforms !== true)
        fail(`${where}.acrossPlatforms must be true when present`);
      bool(m.readonly, `${where}.readonly`);
      if (m.input !== undefined) index(m.input, `${where}.input`);
      str(m.source, `${where}.source`);
      for (const k of ["mode", "uid", "gid"]) int(m[k], `${where}.${k}`);
      break;
    case "tmpfs":
      absPath(m.target, `${where}.target`);
      if (m.size !== undefined) int(m.size, `${where}.size`);
      break;
    case "secret":
      str(m.id, `${where}.id`);
      if (m.target !== undefined) absPath(m.target, `${where}.target`);
      if (m.env !== undefined) str(m.env, `${where}.env`);
      bool(m.required, `${where}.required`);
      for (const k of ["mode", "uid", "gid"]) int(m[k], `${where}.${k}`);
      break;
    case "ssh":
      str(m.id, `${where}.id`);
      absPath(m.target, `${where}.target`);
      bool(m.required, `${where}.required`);
      for (const k of ["mode", "uid", "gid"]) int(m[k], `${where}.${k}`);
      break;
    default:
      fail(`${where}.type ${JSON.stringify(m.type)} is not a known mount type`);
  }
  return m as unknown as ExecMount;
}

function validateAction(value: unknown, where: string, index: (x: unknown, w: string) => void): FileAction {
  const a = record(value, where);
  switch (a.action) {
    case "copy":
      index(a.input, `${where}.input`);
      str(a.src, `${where}.src`);
      str(a.dest, `${where}.dest`);
      for (const k of [
        "followSymlinks",
        "copyDirContents",
        "createDestPath",
        "allowWildcard",
        "allowEmptyWildcard",
        "attemptUnpack",
      ])
        bool(a[k], `${where}.${k}`);
      if (a.mode !== undefined && typeof a.mode !== "string") int(a.mode, `${where}.mode`);
      if (a.owner !== undefined) owner(a.owner, `${where}.owner`);
      for (const k of ["includePatterns", "excludePatterns", "requiredPaths"])
        if (a[k] !== undefined) strings(a[k], `${where}.${k}`);
      break;
    case "mkdir":
      str(a.path, `${where}.path`);
      int(a.mode, `${where}.mode`);
      bool(a.makeParents, `${where}.makeParents`);
      if (a.owner !== undefined) owner(a.owner, `${where}.owner`);
      break;
    case "mkfile":
      str(a.path, `${where}.path`);
      int(a.mode, `${where}.mode`);
      str(a.data, `${where}.data`);
      if (a.owner !== undefined) owner(a.owner, `${where}.owner`);
      break;
    case "rm":
      str(a.path, `${where}.path`);
      bool(a.allowNotFound, `${where}.allowNotFound`);
      bool(a.allowWildcard, `${where}.allowWildcard`);
      break;
    default:
      fail(`${where}.action ${JSON.stringify(a.action)} is not a known file action`);
  }
  return a as unknown as FileAction;
}

function fail(message: string): never {
  throw new UserError(`build graph: ${message}`, {
    hint: "the graph was not written by this version of polyarch, or was damaged in transit",
  });
}

function record(x: unknown, where: string): Record<string, unknown> {
  if (typeof x !== "object" || x === null || Array.isArray(x)) fail(`${where} is not an object`);
  return x as Record<string, unknown>;
}

function array(x: unknown, where: string): unknown[] {
  if (!Array.isArray(x)) fail(`${where} is not an array`);
  return x;
}

function str(x: unknown, where: string): void {
  if (typeof x !== "string") fail(`${where} is not a string`);
}

function absPath(x: unknown, where: string): void {
  if (typeof x !== "string" || !x.startsWith("/")) fail(`${where} is not an absolute path`);
}

function strings(x: unknown, where: string): void {
  array(x, where).forEach((s, i) => {
    str(s, `${where}[${i}]`);
  });
}

function bool(x: unknown, where: string): void {
  if (typeof x !== "boolean") fail(`${where} is not a boolean`);
}

function int(x: unknown, where: string): void {
  if (!Number.isSafeInteger(x) || (x as number) < 0) fail(`${where} is not a non-negative integer`);
}

function oneOf(x: unknown, allowed: readonly string[], where: string): void {
  if (typeof x !== "string" || !allowed.includes(x)) fail(`${where} must be one of ${allowed.join(", ")}`);
}

function platform(x: unknown, where: string): void {
  const p = record(x, where);
  str(p.os, `${where}.os`);
  str(p.architecture, `${where}.architecture`);
  if (p.variant !== undefined) str(p.variant, `${where}.variant`);
}

function owner(x: unknown, where: string): void {
  const o = record(x, where);
  str(o.user, `${where}.user`);
  if (o.group !== undefined) str(o.group, `${where}.group`);
}
