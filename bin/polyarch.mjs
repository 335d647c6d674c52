#!/usr/bin/env node
// Compile cache makes repeated starts of the bundled CLI cheap (Node >= 22.1).
import module from "node:module";
module.enableCompileCache?.();
await import("../dist/polyarch.mjs");
