import { existsSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { ESM_REQUIRE_BANNER } from "../../infra/constructs/shaper-function.js";
import { synthShaper } from "./synth.js";

interface Bundle {
  readonly service: string;
  readonly code: string;
  readonly directory: string;
}

describe("function bundling", () => {
  let bundles: Bundle[];

  beforeAll(() => {
    // Real bundling with the local esbuild (no Docker involved); one synth for the file.
    const outdir = mkdtempSync(join(tmpdir(), "shaper-bundle-"));
    const { template } = synthShaper({ bundle: true, outdir });
    bundles = Object.values(template.findResources("AWS::Lambda::Function"))
      .filter((fn) => fn.Properties.Environment?.Variables?.POWERTOOLS_SERVICE_NAME)
      .map((fn) => {
        const key = String(fn.Properties.Code.S3Key);
        const directory = join(outdir, `asset.${key.replace(/\.zip$/, "")}`);
        return {
          service: fn.Properties.Environment.Variables.POWERTOOLS_SERVICE_NAME as string,
          directory,
          code: readFileSync(join(directory, "index.mjs"), "utf8"),
        };
      });
  });

  it("bundles all eleven handlers", () => {
    expect(bundles).toHaveLength(11);
  });

  it("emits ESM with a working require and a source map for every handler", () => {
    for (const bundle of bundles) {
      // Boolean checks: a failed toMatch would print the whole (megabytes) bundle.
      expect(bundle.code.startsWith(ESM_REQUIRE_BANNER), bundle.service).toBe(true);
      expect(/export\s*\{[^}]*\bhandler\b[^}]*\}/.test(bundle.code), bundle.service).toBe(true);
      expect(bundle.code.includes("//# sourceMappingURL=index.mjs.map"), bundle.service).toBe(true);
      expect(existsSync(join(bundle.directory, "index.mjs.map")), bundle.service).toBe(true);
    }
  });

  it("bundles the pinned AWS SDK instead of importing the runtime's", () => {
    for (const bundle of bundles) {
      // An externalised SDK would appear as an import statement of the package; the SDK's own
      // error messages mention require("@aws-sdk/…") in prose, so only imports count.
      expect(/\bfrom\s*["']@aws-sdk\//.test(bundle.code), bundle.service).toBe(false);
    }
  });
});
