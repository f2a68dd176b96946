import { chmodSync, mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { ConfigError } from "../../../../layers/domain/errors.js";
import { findChromium } from "../../../../local/report/chromium.js";
import { tempDataDir } from "../../../helpers/temp-data-dir.js";

function executable(dir: string, name: string): string {
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, name);
  writeFileSync(file, "#!/bin/sh\n");
  chmodSync(file, 0o755);
  return file;
}

describe("findChromium", () => {
  it("prefers SHAPER_CHROMIUM over PATH", () => {
    const dir = tempDataDir();
    const chosen = executable(path.join(dir, "custom"), "my-chrome");
    executable(path.join(dir, "bin"), "chromium");
    expect(findChromium({ SHAPER_CHROMIUM: chosen, PATH: path.join(dir, "bin") })).toBe(chosen);
  });

  it("looks for chromium, then chromium-browser, then google-chrome on PATH", () => {
    const dir = tempDataDir();
    const first = path.join(dir, "a");
    const second = path.join(dir, "b");
    executable(first, "google-chrome");
    const browser = executable(second, "chromium-browser");
    writeFileSync(path.join(first, "chromium"), "not executable");
    expect(findChromium({ PATH: [first, second].join(path.delimiter) })).toBe(browser);
  });

  it("returns undefined when no Chromium is on PATH", () => {
    expect(findChromium({ PATH: tempDataDir() })).toBeUndefined();
  });

  it("rejects a SHAPER_CHROMIUM that is not an executable file, saying how to fix it", () => {
    const dir = tempDataDir();
    expect(() => findChromium({ SHAPER_CHROMIUM: dir })).toThrow(ConfigError);
    expect(() => findChromium({ SHAPER_CHROMIUM: dir })).toThrow(/apt-get install chromium/);
  });
});
