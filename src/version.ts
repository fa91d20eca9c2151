import pkg from "../package.json" with { type: "json" };

/** The sense-events version, from package.json (embedded in compiled binaries). */
export const VERSION: string = pkg.version;
