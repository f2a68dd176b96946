import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";

/**
 * Installs moto (pinned, with every dependency pinned) into a cached virtualenv and starts its
 * server for the tests. The virtualenv lives in `.cache/moto-venv` and is rebuilt when the
 * requirements file changes.
 */

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, "../..");
const requirementsFile = path.join(here, "moto-requirements.txt");
const launcher = path.join(here, "moto_server.py");
export const motoVenvDir = path.join(root, ".cache", "moto-venv");

function python(): string {
  return process.env.SHAPER_PYTHON ?? "python3";
}

function requirementsHash(): string {
  return createHash("sha256").update(readFileSync(requirementsFile)).digest("hex");
}

/** Waits for a lock directory (mkdir is atomic), so parallel test runs build the venv once. */
async function withLock<T>(lockDir: string, fn: () => T): Promise<T> {
  const deadline = Date.now() + 600_000;
  for (;;) {
    try {
      mkdirSync(lockDir);
      break;
    } catch {
      // A lock older than 10 minutes belongs to a run that died.
      try {
        if (Date.now() - statSync(lockDir).mtimeMs > 600_000)
          rmSync(lockDir, { recursive: true, force: true });
      } catch {
        // gone meanwhile: try again
      }
      if (Date.now() > deadline)
        throw new Error(`Timed out waiting for ${lockDir}; remove it if no test run is active.`);
      await sleep(500);
    }
  }
  try {
    return fn();
  } finally {
    rmSync(lockDir, { recursive: true, force: true });
  }
}

/** Creates or refreshes the virtualenv; returns its python. */
export async function ensureMotoVenv(): Promise<string> {
  const venvPython = path.join(motoVenvDir, "bin", "python");
  const marker = path.join(motoVenvDir, ".requirements-sha256");
  const wanted = requirementsHash();
  const ready = () =>
    existsSync(venvPython) && existsSync(marker) && readFileSync(marker, "utf8") === wanted;
  if (ready()) return venvPython;
  mkdirSync(path.dirname(motoVenvDir), { recursive: true });
  await withLock(`${motoVenvDir}.lock`, () => {
    if (ready()) return;
    rmSync(motoVenvDir, { recursive: true, force: true });
    try {
      execFileSync(python(), ["-m", "venv", motoVenvDir], { stdio: "pipe" });
      execFileSync(
        venvPython,
        ["-m", "pip", "install", "--quiet", "--disable-pip-version-check", "-r", requirementsFile],
        { stdio: "pipe", timeout: 600_000 },
      );
    } catch (error) {
      const err = error as { stderr?: Buffer; message: string };
      throw new Error(
        `Could not install moto into ${motoVenvDir} with ${python()}: ${err.stderr?.toString() || err.message}\n` +
          "The integration tests need Python 3.9+ with venv and pip, and access to PyPI (or set " +
          "AWS_ENDPOINT_URL to a running LocalStack to use it instead).",
      );
    }
    writeFileSync(marker, wanted);
  });
  return venvPython;
}

export interface RunningMoto {
  readonly endpoint: string;
  stop(): Promise<void>;
}

/** Starts moto's server on a free loopback port and waits until it answers. */
export async function startMoto(): Promise<RunningMoto> {
  const venvPython = await ensureMotoVenv();
  const child: ChildProcess = spawn(venvPython, [launcher, "0", String(process.pid)], {
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, PYTHONUNBUFFERED: "1" },
  });
  let stderr = "";
  child.stderr?.on("data", (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-4_000);
  });
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`moto did not start within 60 s:\n${stderr}`)),
      60_000,
    );
    let out = "";
    child.stdout?.on("data", (chunk: Buffer) => {
      out += chunk.toString();
      const m = /MOTO_READY (\d+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    });
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`moto exited with code ${code} before it was ready:\n${stderr}`));
    });
  });
  const endpoint = `http://127.0.0.1:${port}`;
  return {
    endpoint,
    stop: async () => {
      if (child.exitCode !== null) return;
      const exited = new Promise((resolve) => child.once("exit", resolve));
      child.kill("SIGTERM");
      await Promise.race([exited, sleep(5_000)]);
      if (child.exitCode === null) child.kill("SIGKILL");
    },
  };
}
