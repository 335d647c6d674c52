import pkg from "../../../package.json" with { type: "json" };

/** This polyarch's version: a client and its nodes must run the same one (the graph format is shared). */
export const polyarchVersion: string = pkg.version;
