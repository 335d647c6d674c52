// Enforces the guide's layering, at three levels, from each file's relative imports (static and dynamic):
//  1. folders: a folder of src/ may import only from the folders listed for it (an arrow that points up,
//     e.g. oci/ importing registry/, fails);
//  2. sub-folders: inside a folder, a sub-folder may import only the sub-folders listed for it ("." is
//     the folder's own top-level files);
//  3. seams: some folders may reach another only through its seam module (the solver sees worker/ only
//     through the Worker interface), and some modules may be imported only by the composition roots.
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative, sep } from "node:path";

const allowed = {
  errors: [],
  fsutil: [],
  oci: [],
  content: ["oci"],
  registry: ["oci", "content"],
  // The local image store: named images over the content store (names are registry references).
  images: ["oci", "content", "registry"],
  progress: [],
  graph: ["oci"],
  dockerfile: ["graph", "oci"],
  // The worker runs graph ops (a remote worker receives the graph); it knows nothing of Dockerfiles.
  worker: ["oci", "content", "graph"],
  // Attestation documents (provenance from the graph, SBOMs from a result tree through the worker's resolver).
  attest: ["oci", "graph", "worker"],
  exporter: ["oci", "content", "registry", "images", "attest"],
  // A BuildKit daemon as a backend: its client and session, at the worker level (results land in content/).
  buildkit: ["oci", "content", "registry", "progress"],
  // The solver hands out refs to results; exporters take from them, so it needs nothing of exporter/.
  solver: ["graph", "worker", "content", "oci", "progress", "registry", "images"],
  // The library entry composes everything below it; the CLI is the library's one more layer up.
  api: [
    "dockerfile",
    "graph",
    "solver",
    "worker",
    "exporter",
    "oci",
    "content",
    "registry",
    "progress",
    "images",
    "attest",
    "buildkit",
  ],
};
allowed.cli = ["api", ...allowed.api];

// Sub-folder -> sub-folders of the same folder it may import ("." = the folder's top-level files).
// A folder not listed here has no sub-folder rules; a sub-folder not listed under its folder may import
// only its own files and ".".
const within = {
  dockerfile: {
    ".": [],
    shell: ["."],
    parse: [".", "shell"],
    plan: [".", "parse", "shell"],
    outline: [".", "plan", "shell"],
    lint: [".", "outline", "plan"],
    context: [".", "plan"],
  },
  oci: { ".": [], layer: ["."], layout: ["."] },
  worker: {
    // worker.ts names the data and errors of its parts; process-owner.ts is shared by them.
    ".": ["executor", "fileop", "layer"],
    emulation: [],
    layer: [],
    // layer/ is a leaf (xattrs, layer tars): the snapshotters read overlay marks with it.
    snapshot: [".", "layer"],
    fileop: ["layer", "executor"],
    executor: [".", "emulation", "fileop", "snapshot"],
    // The local worker puts the parts together behind the Worker interface.
    local: [".", "emulation", "executor", "fileop", "layer", "snapshot"],
  },
  exporter: { ".": ["outputs"], outputs: ["."] },
  api: { ".": ["build", "builders", "imagetools"], build: [], builders: [], imagetools: [] },
  cli: { ".": ["commands"], commands: ["."] },
  buildkit: { ".": ["session"], session: ["."] },
};

// Seams: files of folder `from` may import folder `to` only through these modules.
const seams = [
  {
    from: "solver",
    to: "worker",
    only: ["worker/worker.ts"],
    why: "the solver is given a Worker and uses only its interface (worker/worker.ts)",
  },
];

seams.push({
  from: "attest",
  to: "worker",
  only: ["worker/worker.ts"],
  why: "the SBOM scanner reads trees with the worker's one in-root resolver (worker/worker.ts)",
});

// Modules only the composition roots (and their own folder) may import: whoever builds the parts.
const roots = [
  { module: "worker/local/", by: ["api", "cli"], why: "only the library entry constructs the local worker" },
];

const root = new URL("../src/", import.meta.url).pathname;
const failures = [];
function walk(dir) {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p);
    else if (p.endsWith(".ts")) check(p);
  }
}

/** The folder and sub-folder ("." for top-level files) of a path relative to src/. */
function place(rel) {
  const parts = rel.split(sep);
  return { folder: parts[0], sub: parts.length > 2 ? parts[1] : "." };
}

function check(file) {
  const rel = relative(root, file);
  const from = place(rel);
  const text = readFileSync(file, "utf8");
  for (const m of text.matchAll(/(?:from|import)\s*\(?\s*["']([^"']+)["']/g)) {
    const spec = m[1];
    if (!spec.startsWith(".")) continue;
    const targetRel = relative(root, join(file, "..", spec));
    if (targetRel.startsWith("..")) continue;
    const to = place(targetRel);
    const target = targetRel.split(sep).join("/");
    const where = `src/${rel}: imports ${spec}`;
    if (to.folder === "errors" || to.folder === "fsutil") continue;
    if (to.folder === from.folder) {
      const rules = within[from.folder];
      if (rules && to.sub !== from.sub && !(rules[from.sub] ?? ["."]).includes(to.sub)) {
        failures.push(`${where} (${from.folder}/${from.sub}/ may not depend on ${from.folder}/${to.sub}/)`);
      }
      continue;
    }
    if (!(allowed[from.folder] ?? []).includes(to.folder)) {
      failures.push(`${where} (${from.folder}/ may not depend on ${to.folder}/)`);
      continue;
    }
    for (const seam of seams) {
      if (seam.from === from.folder && seam.to === to.folder && !seam.only.includes(target)) {
        failures.push(`${where} (${seam.why})`);
      }
    }
    for (const r of roots) {
      if (target.startsWith(r.module) && !r.by.includes(from.folder)) failures.push(`${where} (${r.why})`);
    }
  }
}
walk(root);
if (failures.length) {
  console.error(failures.join("\n"));
  process.exit(1);
}
console.log("layers ok");
