import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";

/** Where the trace fixtures (cut from ../shared/data, see their README) live. */
export const TRACE_FIXTURES = path.resolve(
  path.dirname(fileURLToPath(import.meta.url)),
  "..",
  "fixtures",
  "traces",
);

/**
 * Writes a small trace file into a fresh temporary directory (gzipped when the name ends in .gz).
 *
 * @returns the file's path
 */
export function writeTraceFile(name: string, text: string): string {
  const dir = mkdtempSync(path.join(tmpdir(), "shaper-trace-"));
  const file = path.join(dir, name);
  writeFileSync(file, name.endsWith(".gz") ? gzipSync(text) : text);
  return file;
}
