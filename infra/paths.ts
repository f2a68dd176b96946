import { fileURLToPath } from "node:url";

/**
 * The repository root (the folder holding cdk.json and package-lock.json). Function entries, the
 * lock file esbuild bundles against and the model-server image context are resolved from it, so
 * the app synthesises the same from any working directory.
 */
export const REPO_ROOT = fileURLToPath(new URL("../", import.meta.url));
