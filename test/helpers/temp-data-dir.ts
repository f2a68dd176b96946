import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll } from "vitest";

/**
 * Fresh data directories for the embedded on-disk stores, removed when the importing test file
 * finishes (the hook registers on that file's root suite at import).
 */
const made: string[] = [];

afterAll(() => {
  for (const dir of made.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** A new empty folder under the OS temp folder. */
export function tempDataDir(): string {
  const dir = mkdtempSync(path.join(tmpdir(), "shaper-data-"));
  made.push(dir);
  return dir;
}
