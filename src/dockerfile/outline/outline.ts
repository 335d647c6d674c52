import type { DockerfileAst, Position } from "../ast.ts";
import { parseMountFlag, secretOfMount, sshOfMount } from "./run-mounts.ts";
import {
  buildStageGraph,
  descriptionFor,
  reachableStages,
  type StageGraph,
  type StageGraphOptions,
  targetStage,
} from "./stage-graph.ts";
import { walkStages } from "./stage-walk.ts";

/** A build arg the target uses, as `--call outline` lists it. */
export interface OutlineArg {
  name: string;
  /** The value the build would use (default after expansion, or the `--build-arg`); "" when none. */
  value: string;
  description: string;
  pos: Position;
}

/** A secret or ssh agent the target's RUN steps mount. */
export interface OutlineResource {
  name: string;
  required: boolean;
  pos: Position;
}

/** BuildKit's outline of a target: what it can be told (`--build-arg`, `--secret`, `--ssh`). */
export interface Outline {
  /** The target stage's name, when it has one. */
  name: string | undefined;
  description: string;
  args: OutlineArg[];
  secrets: OutlineResource[];
  ssh: OutlineResource[];
}

export interface OutlineOptions extends StageGraphOptions {
  target?: string;
}

// Per stage, what BuildKit's outline capture holds: every arg definition it knows, the names it uses,
// and the secrets and agents it mounts.
interface Capture {
  allArgs: Map<string, { value: string; description: string; deps: string[]; pos: Position }>;
  used: Set<string>;
  secrets: Map<string, OutlineResource>;
  ssh: Map<string, OutlineResource>;
}

/**
 * Computes `--call outline` as BuildKit does: the args of the target and of every stage it needs (each
 * ARG a stage declares counts as used; a global ARG counts when a FROM uses it, when a stage re-declares
 * it, or when a used arg's default refers to it), automatic platform args left out unless given a value,
 * then the secrets and ssh agents those stages mount, all in Dockerfile order.
 */
export function outlineDockerfile(ast: DockerfileAst, options: OutlineOptions = {}): Outline {
  const graph = buildStageGraph(ast, options);
  return outlineOf(graph, options);
}

export function outlineOf(graph: StageGraph, options: OutlineOptions = {}): Outline {
  const buildArgs = options.buildArgs ?? {};
  const target = targetStage(graph, options.target);

  const root: Capture = { allArgs: new Map(), used: new Set(), secrets: new Map(), ssh: new Map() };
  for (const a of graph.metaArgs.values()) {
    root.allArgs.set(a.name, { value: a.value ?? "", description: a.description, deps: a.deps, pos: a.pos });
  }
  const captures: Capture[] = [];
  const initial: Capture[] = [];
  for (const stage of graph.stages) {
    // A stage starts from its base stage's capture as it stood after the base's FROM (BuildKit clones it
    // before either is dispatched), else from the global one.
    const from = stage.baseStage === undefined ? root : initial[stage.baseStage]!;
    const c = clone(from);
    for (const k of stage.baseMatched) c.used.add(k);
    for (const k of stage.platform?.matched ?? []) c.used.add(k);
    initial.push(clone(c));
    captures.push(c);
  }

  // Like BuildKit's outline, only the stages the target needs are dispatched.
  walkStages(graph, reachableStages(graph, target.index), buildArgs, {
    arg(stage, ins, decl, resolved) {
      const c = captures[stage.index]!;
      if (!resolved.fromGlobal) {
        c.allArgs.set(decl.name, {
          value: resolved.value ?? "",
          description: descriptionFor(ins.comments, decl.name),
          deps: [],
          pos: decl.pos,
        });
      }
      c.used.add(decl.name);
    },
    before(stage, ins) {
      if (ins.keyword !== "RUN") return;
      const c = captures[stage.index]!;
      for (const flag of ins.mounts) {
        const m = parseMountFlag(flag);
        const secret = secretOfMount(m);
        if (secret) addResource(c.secrets, secret.id, secret.required, flag.pos);
        const ssh = sshOfMount(m);
        if (ssh) addResource(c.ssh, ssh.id, ssh.required, flag.pos);
      }
    },
  });

  const args: OutlineArg[] = [];
  const secrets: OutlineResource[] = [];
  const ssh: OutlineResource[] = [];
  const seenArgs = new Set<string>();
  const seenSecrets = new Set<string>();
  const seenSsh = new Set<string>();
  const seenStages = new Set<number>();
  const collect = (index: number): void => {
    if (seenStages.has(index)) return;
    seenStages.add(index);
    const c = captures[index]!;
    markAllUsed(c, [...c.used]);
    for (const k of c.used) {
      const info = c.allArgs.get(k);
      if (!info || seenArgs.has(k)) continue;
      seenArgs.add(k);
      args.push({ name: k, value: info.value, description: info.description, pos: info.pos });
    }
    takeNew(c.secrets, seenSecrets, secrets);
    takeNew(c.ssh, seenSsh, ssh);
    const stage = graph.stages[index]!;
    if (stage.baseStage !== undefined) collect(stage.baseStage);
    for (const d of stage.deps) collect(d);
  };
  collect(target.index);

  const byPos = (a: { pos: Position }, b: { pos: Position }) =>
    a.pos.line - b.pos.line || a.pos.column - b.pos.column;
  return {
    name: target.name,
    description: target.description,
    args: args.sort(byPos),
    secrets: secrets.sort(byPos),
    ssh: ssh.sort(byPos),
  };
}

function clone(c: Capture): Capture {
  return {
    allArgs: new Map(c.allArgs),
    used: new Set(c.used),
    secrets: new Map(c.secrets),
    ssh: new Map(c.ssh),
  };
}

// Using an arg uses the args its default referred to (`ARG B=$A`), transitively.
function markAllUsed(c: Capture, names: readonly string[], visited = new Set<string>()): void {
  for (const k of names) {
    if (visited.has(k)) continue;
    visited.add(k);
    const info = c.allArgs.get(k);
    if (info) markAllUsed(c, info.deps, visited);
    c.used.add(k);
  }
}

// The first stage (target first, then its bases and dependencies) to mention an id describes it.
function takeNew(from: Map<string, OutlineResource>, seen: Set<string>, into: OutlineResource[]): void {
  for (const [id, r] of from) {
    if (seen.has(id)) continue;
    seen.add(id);
    into.push(r);
  }
}

function addResource(map: Map<string, OutlineResource>, id: string, required: boolean, pos: Position): void {
  const existing = map.get(id);
  if (existing) existing.required ||= required;
  else map.set(id, { name: id, required, pos });
}
