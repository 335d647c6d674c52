import pkg from "../../package.json" with { type: "json" };

export const polyarchVersion: string = pkg.version;
