import { accessSync, constants, statSync } from "node:fs";
import path from "node:path";
import { ConfigError } from "../../layers/domain/errors.js";

/**
 * Finding a headless Chromium to open the HTML report with (the report test drives it through
 * playwright-core, which ships no browser). Debian's `chromium` package installs /usr/bin/chromium.
 */

/** What to tell someone who has no Chromium. */
export const CHROMIUM_INSTALL_HINT =
  "Install Chromium (Debian/Ubuntu: `apt-get install chromium`) or set SHAPER_CHROMIUM to a " +
  "Chromium or Chrome executable.";

/** Names looked up on PATH, in order. */
const CANDIDATES = ["chromium", "chromium-browser", "google-chrome"] as const;

/**
 * The Chromium executable to use: `SHAPER_CHROMIUM` when set, else the first of `chromium`,
 * `chromium-browser`, `google-chrome` on PATH.
 *
 * @param env - Where SHAPER_CHROMIUM and PATH are read. @default process.env
 * @returns Its absolute path, or undefined when none is found.
 * @throws {ConfigError} When SHAPER_CHROMIUM is set but names no executable file.
 */
export function findChromium(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const configured = env.SHAPER_CHROMIUM;
  if (configured !== undefined && configured !== "") {
    const resolved = path.resolve(configured);
    if (!isExecutableFile(resolved)) {
      throw new ConfigError(
        `SHAPER_CHROMIUM is "${configured}", which is not an executable file. ` +
          `Expected the path of a Chromium or Chrome binary. ${CHROMIUM_INSTALL_HINT}`,
      );
    }
    return resolved;
  }
  const dirs = (env.PATH ?? "").split(path.delimiter).filter((dir) => dir !== "");
  for (const name of CANDIDATES) {
    for (const dir of dirs) {
      const file = path.resolve(dir, name);
      if (isExecutableFile(file)) return file;
    }
  }
  return undefined;
}

/**
 * Command-line switches for headless Chromium on a CI box or container: no sandbox when running
 * as root (Chromium refuses to start otherwise), shared memory in /tmp (a container's /dev/shm is
 * often 64 MB), no GPU.
 */
export function chromiumArgs(): string[] {
  const args = ["--disable-dev-shm-usage", "--disable-gpu", "--no-first-run"];
  if (process.getuid?.() === 0) args.push("--no-sandbox");
  return args;
}

function isExecutableFile(file: string): boolean {
  try {
    if (!statSync(file).isFile()) return false;
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}
