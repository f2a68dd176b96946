import { existsSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..");

/**
 * The shared traces the tests read in place (never copied into the repo): `SHAPER_DATA_DIR` when
 * set, else `../shared/data` beside the repository, else `/work/shared/data` (where they live on
 * the project's machines, so a clone elsewhere still finds them). When none exists the first
 * candidate is returned and the reading test fails naming it.
 */
export const SHARED_DATA: string = (() => {
  const candidates = [
    process.env.SHAPER_DATA_DIR,
    path.resolve(REPO, "..", "shared", "data"),
    "/work/shared/data",
  ].filter((c): c is string => typeof c === "string" && c.length > 0);
  return candidates.find((c) => existsSync(c)) ?? (candidates[0] as string);
})();

/** A path inside the shared traces. */
export function sharedData(...parts: string[]): string {
  return path.join(SHARED_DATA, ...parts);
}
