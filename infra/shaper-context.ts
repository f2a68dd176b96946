import { readFileSync, statSync } from "node:fs";
import { isAbsolute, resolve } from "node:path";
import type { Node } from "constructs";
import { parseConfig, type ShaperConfig } from "../layers/domain/config.js";
import type { JwtAuthorizerSettings } from "./constructs/admission-api.js";
import { REPO_ROOT } from "./paths.js";

/** CDK context keys the app reads (`cdk.json` or `-c key=value`). */
export const CONTEXT_KEYS = {
  configFile: "shaper:configFile",
  configUpdatedAt: "shaper:configUpdatedAt",
  stackName: "shaper:stackName",
  jwtIssuer: "shaper:jwtIssuer",
  jwtAudience: "shaper:jwtAudience",
  alarmEmail: "shaper:alarmEmail",
} as const;

export const DEFAULT_CONFIG_FILE = "config/shaper.config.json";
export const DEFAULT_STACK_NAME = "Shaper";

/** What the app builds the stack from. */
export interface ShaperContext {
  /** The validated config, defaults filled in. */
  readonly config: ShaperConfig;
  /** Absolute path of the config file. */
  readonly configFile: string;
  /** `updatedAt` written with the config, in epoch seconds. */
  readonly configUpdatedAt: number;
  readonly stackName: string;
  readonly jwt?: JwtAuthorizerSettings;
  readonly alarmEmail?: string;
}

/**
 * Reads and validates the app's context. No lookups: everything comes from context values and
 * the config file, so synth works offline.
 *
 * @param node the app's node (context is read from it)
 * @param root directory a relative config path is resolved from
 * @returns the config and settings
 * @throws ConfigError (from parseConfig) listing every invalid config field; Error for a
 *   missing or unreadable file, unparsable JSON or half a JWT setting
 */
export function readShaperContext(node: Node, root: string = REPO_ROOT): ShaperContext {
  const text = (key: string): string | undefined => {
    const value: unknown = node.tryGetContext(key);
    if (value === undefined || value === null || value === "") return undefined;
    if (typeof value !== "string") {
      throw new Error(
        `Context value ${key} is ${JSON.stringify(value)}. Expected a string. Fix it in cdk.json or pass -c ${key}=<value>.`,
      );
    }
    return value;
  };

  const configPath = text(CONTEXT_KEYS.configFile) ?? DEFAULT_CONFIG_FILE;
  const configFile = isAbsolute(configPath) ? configPath : resolve(root, configPath);
  let raw: string;
  try {
    raw = readFileSync(configFile, "utf8");
  } catch (error) {
    throw new Error(
      `Cannot read the shaper config file ${configFile} (context ${CONTEXT_KEYS.configFile}): ${(error as Error).message}. Point ${CONTEXT_KEYS.configFile} at a JSON config file.`,
    );
  }
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch (error) {
    throw new Error(
      `The shaper config file ${configFile} is not valid JSON: ${(error as Error).message}. Fix the file's syntax.`,
    );
  }
  const config = parseConfig(json, configFile);

  const updatedAtText = text(CONTEXT_KEYS.configUpdatedAt);
  let configUpdatedAt: number;
  if (updatedAtText !== undefined) {
    configUpdatedAt = Number(updatedAtText);
    if (!Number.isInteger(configUpdatedAt) || configUpdatedAt < 0) {
      throw new Error(
        `Context ${CONTEXT_KEYS.configUpdatedAt} is "${updatedAtText}". Expected epoch seconds (a non-negative integer).`,
      );
    }
  } else {
    // The file's modification time: stable across synths of one checkout, so the seed re-runs
    // when the file changes rather than on every deploy.
    configUpdatedAt = Math.floor(statSync(configFile).mtimeMs / 1000);
  }

  const issuer = text(CONTEXT_KEYS.jwtIssuer);
  const audienceValue: unknown = node.tryGetContext(CONTEXT_KEYS.jwtAudience);
  const audience = parseAudience(audienceValue);
  if ((issuer === undefined) !== (audience === undefined)) {
    throw new Error(
      `JWT authorization needs both ${CONTEXT_KEYS.jwtIssuer} and ${CONTEXT_KEYS.jwtAudience}; got only ${issuer ? CONTEXT_KEYS.jwtIssuer : CONTEXT_KEYS.jwtAudience}. Set both, or neither for IAM authorization.`,
    );
  }
  const alarmEmail = text(CONTEXT_KEYS.alarmEmail);
  return {
    config,
    configFile,
    configUpdatedAt,
    stackName: text(CONTEXT_KEYS.stackName) ?? DEFAULT_STACK_NAME,
    ...(issuer && audience ? { jwt: { issuer, audience } } : {}),
    ...(alarmEmail ? { alarmEmail } : {}),
  };
}

/** Audience from context: a JSON array, or a comma-separated string (what `-c` passes). */
function parseAudience(value: unknown): string[] | undefined {
  if (value === undefined || value === null || value === "") return undefined;
  const list = Array.isArray(value)
    ? value
    : typeof value === "string"
      ? value.split(",").map((s) => s.trim())
      : undefined;
  if (!list || list.length === 0 || list.some((a) => typeof a !== "string" || a === "")) {
    throw new Error(
      `Context ${CONTEXT_KEYS.jwtAudience} is ${JSON.stringify(value)}. Expected one or more client ids: a JSON array of strings or a comma-separated string.`,
    );
  }
  return list as string[];
}
