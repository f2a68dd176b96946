import {
  closeSync,
  existsSync,
  fdatasync,
  fsyncSync,
  ftruncateSync,
  mkdirSync,
  openSync,
  readFileSync,
  write,
} from "node:fs";
import path from "node:path";
import { crc32 } from "node:zlib";
import { DependencyError } from "../../domain/errors.js";

/**
 * An append-only log of JSON lines on disk, the durable half of the embedded stores
 * (FileAdmissionStore, FileUsageStore). Each line is one commit, framed with a checksum:
 *
 *     {"crc":<CRC-32 of the entry text>,"entry":<entry as JSON>}\n
 *
 * so a commit is all-or-nothing: a line is applied whole or not at all.
 *
 * Durability: `append` queues a line and returns its sequence number; `whenDurable(seq)` resolves
 * once that line has been written AND fdatasync'd. Lines are group-committed: while one write +
 * fdatasync is in flight, new lines queue up and go out together in the next one, so the cost
 * of an fsync is shared by every commit that arrived during the previous one. A store
 * acknowledges a commit only after `whenDurable`.
 *
 * Crash recovery (`open`): the file is replayed line by line. A crash can only tear the END of
 * the file (lines are appended in order), so an unterminated last line, or a run of bad lines
 * reaching the end, is a torn tail: it is ignored and cut off (so later appends do not land
 * behind it). A bad line followed by a good one is not a tear but corruption: opening fails and
 * says where.
 *
 * Failure: a failed write or fdatasync leaves the file's state unknown, so the log stops (every
 * later append and wait is refused) — fail-stop, as databases treat an fsync error. Restarting
 * replays what reached the disk.
 */
export class FileAppendLog {
  private readonly fd: number;
  private pending: string[] = [];
  private appendedSeq = 0;
  private durableSeq = 0;
  private writing = false;
  private failure: DependencyError | undefined;
  private closed = false;
  /** Waiters in sequence order (appends are numbered in order, so they complete in order). */
  private readonly waiters: { seq: number; resolve: () => void; reject: (e: Error) => void }[] = [];
  private idle: (() => void) | undefined;

  private constructor(
    readonly file: string,
    fd: number,
    /** Bytes of a torn tail cut off at open (0 when the file ended cleanly). */
    readonly tornBytesDropped: number,
    /** Complete lines replayed at open. */
    readonly linesReplayed: number,
  ) {
    this.fd = fd;
  }

  /**
   * Opens (creating if needed) the log at `file` and replays every intact line through `apply`,
   * in order, before returning. Synchronous: stores are ready when constructed.
   *
   * @param file the log file; its folder is created when missing
   * @param apply called with each entry (parsed JSON) and its 1-based line number
   * @throws DependencyError (not retryable) when a line in the middle of the file is damaged, or
   *   when `apply` rejects an entry
   */
  static open(file: string, apply: (entry: unknown, lineNumber: number) => void): FileAppendLog {
    const absolute = path.resolve(file);
    const folder = path.dirname(absolute);
    mkdirSync(folder, { recursive: true });
    const created = !existsSync(absolute);
    const content = created ? Buffer.alloc(0) : readFileSync(absolute);
    const { validBytes, lines } = replay(absolute, content, apply);
    const fd = openSync(absolute, "a");
    if (validBytes < content.length) {
      // Cut the torn tail so the next append starts on a fresh line, then make the cut durable.
      ftruncateSync(fd, validBytes);
      fsyncSync(fd);
    }
    if (created) syncFolder(folder);
    return new FileAppendLog(absolute, fd, content.length - validBytes, lines);
  }

  /**
   * Queues one entry as one line. Call it in the same synchronous step that applies the entry in
   * memory, so the log's order is the order of the changes.
   *
   * @returns the line's sequence number, for `whenDurable`
   * @throws DependencyError (not retryable) once the log has failed or is closed
   */
  append(entry: unknown): number {
    this.assertUsable();
    const text = JSON.stringify(entry);
    this.pending.push(`{"crc":${crc32(text)},"entry":${text}}\n`);
    this.appendedSeq += 1;
    if (!this.writing) void this.drain();
    return this.appendedSeq;
  }

  /** Resolves once the line `seq` (and every line before it) is on disk. */
  whenDurable(seq: number): Promise<void> {
    if (seq <= this.durableSeq) return Promise.resolve();
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      this.waiters.push({ seq, resolve, reject });
    });
  }

  /** Sequence number of the last line appended (durable or not). */
  get lastSeq(): number {
    return this.appendedSeq;
  }

  /** Flushes what is queued and closes the file. Appends after this are refused. */
  async close(): Promise<void> {
    if (this.closed) return;
    if (this.writing || this.pending.length > 0) {
      await new Promise<void>((resolve) => {
        this.idle = resolve;
      });
    }
    this.closed = true;
    closeSync(this.fd);
  }

  private assertUsable(): void {
    if (this.failure) throw this.failure;
    if (this.closed) {
      throw new DependencyError(
        "embedded store",
        `The log ${this.file} is closed. Open the store again to write to it.`,
        { retryable: false },
      );
    }
  }

  /** Writes and syncs queued lines, batch after batch, until none are left. */
  private async drain(): Promise<void> {
    this.writing = true;
    while (this.pending.length > 0 && !this.failure) {
      const batch = Buffer.from(this.pending.join(""), "utf8");
      const upTo = this.appendedSeq;
      this.pending = [];
      try {
        await writeAll(this.fd, batch);
        await new Promise<void>((resolve, reject) =>
          fdatasync(this.fd, (error) => (error ? reject(error) : resolve())),
        );
      } catch (error) {
        this.fail(error);
        break;
      }
      this.durableSeq = upTo;
      while (this.waiters.length > 0 && (this.waiters[0]?.seq ?? 0) <= upTo) {
        this.waiters.shift()?.resolve();
      }
    }
    this.writing = false;
    this.idle?.();
    this.idle = undefined;
  }

  private fail(error: unknown): void {
    this.failure = new DependencyError(
      "embedded store",
      `Writing the log ${this.file} failed (${(error as Error).message}); what reached the disk is unknown, so the store accepts no more writes. Fix the disk problem and restart: the log is replayed up to its last intact line.`,
      { retryable: false, cause: error },
    );
    this.pending = [];
    for (const waiter of this.waiters.splice(0)) waiter.reject(this.failure);
  }
}

function replay(
  file: string,
  content: Buffer,
  apply: (entry: unknown, lineNumber: number) => void,
): { validBytes: number; lines: number } {
  let offset = 0;
  let lineNumber = 0;
  let validBytes = 0;
  let firstBad: { line: number; reason: string } | undefined;
  while (offset < content.length) {
    const end = content.indexOf(0x0a, offset);
    // No newline: the last write was cut short. Ignored (and cut off by the caller).
    if (end < 0) break;
    lineNumber += 1;
    const text = content.toString("utf8", offset, end);
    offset = end + 1;
    const decoded = decodeLine(text);
    if (!decoded.ok) {
      firstBad ??= { line: lineNumber, reason: decoded.reason };
      continue;
    }
    if (firstBad) {
      throw new DependencyError(
        "embedded store",
        `The log ${file} is damaged at line ${firstBad.line} (${firstBad.reason}) but has intact lines after it (line ${lineNumber}), so it is not a torn last write. Expected damage only at the end. Restore the data directory from a copy, or move the file away to start empty.`,
        { retryable: false, details: { file, line: firstBad.line } },
      );
    }
    try {
      apply(decoded.entry, lineNumber);
    } catch (error) {
      throw new DependencyError(
        "embedded store",
        `Line ${lineNumber} of the log ${file} cannot be applied: ${(error as Error).message}`,
        { retryable: false, cause: error, details: { file, line: lineNumber } },
      );
    }
    validBytes = offset;
  }
  return { validBytes, lines: lineNumber };
}

const PREFIX = '{"crc":';
const ENTRY = ',"entry":';

function decodeLine(line: string): { ok: true; entry: unknown } | { ok: false; reason: string } {
  if (!line.startsWith(PREFIX) || !line.endsWith("}"))
    return { ok: false, reason: "not a framed line" };
  const at = line.indexOf(ENTRY, PREFIX.length);
  if (at < 0) return { ok: false, reason: "no entry" };
  const crc = Number(line.slice(PREFIX.length, at));
  const text = line.slice(at + ENTRY.length, -1);
  if (!Number.isInteger(crc) || crc32(text) !== crc)
    return { ok: false, reason: "checksum mismatch" };
  try {
    return { ok: true, entry: JSON.parse(text) };
  } catch {
    return { ok: false, reason: "invalid JSON" };
  }
}

async function writeAll(fd: number, buffer: Buffer): Promise<void> {
  let written = 0;
  while (written < buffer.length) {
    written += await new Promise<number>((resolve, reject) =>
      write(fd, buffer, written, buffer.length - written, null, (error, bytes) =>
        error ? reject(error) : resolve(bytes),
      ),
    );
  }
}

/** Makes a newly created file's directory entry durable (POSIX needs the folder fsync'd too). */
function syncFolder(folder: string): void {
  let fd: number | undefined;
  try {
    fd = openSync(folder, "r");
    fsyncSync(fd);
  } catch {
    // Some platforms (Windows) cannot open or fsync a folder; the file's own fsyncs still hold.
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}
