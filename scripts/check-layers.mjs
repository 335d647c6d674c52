// Enforces the guide's layering: a folder of src/ may import only from the folders listed for it.
// An arrow that points up (e.g. oci/ importing registry/) fails the tests.
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
  exporter: ["oci", "content", "registry", "images"],
  solver: ["graph", "worker", "content", "oci", "progress", "exporter", "registry", "images"],
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
  ],
  cli: [
    "api",
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
  ],
};

const root = new URL("../src/", import.meta.url).pathname;
const failures = [];
function walk(dir) {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p);
    else if (p.endsWith(".ts")) check(p);
  }
}
function check(file) {
  const rel = relative(root, file);
  const folder = rel.split(sep)[0];
  const text = readFileSync(file, "utf8");
  for (const m of text.matchAll(/(?:from|import)\s*\(?\s*["']([^"']+)["']/g)) {
    const spec = m[1];
    if (!spec.startsWith(".")) continue;
    const target = relative(root, join(file, "..", spec)).split(sep)[0];
    if (target === folder || target === "errors" || target === "fsutil" || target.startsWith("..")) continue;
    if (!(allowed[folder] ?? []).includes(target)) {
      failures.push(`src/${rel}: imports ${spec} (${folder}/ may not depend on ${target}/)`);
    }
  }
}
walk(root);
if (failures.length) {
  console.error(failures.join("\n"));
  process.exit(1);
}
console.log("layers ok");
