import { type DynamoDBDocumentClient, PutCommand } from "@aws-sdk/lib-dynamodb";
import { parseConfig, type ShaperConfig } from "../../domain/config.js";
import { ConfigError } from "../../domain/errors.js";
import type { Clock } from "../../ports/clock.js";
import type { ConfigSource } from "../../ports/config-source.js";
import { dependencyError } from "./errors.js";
import { getItem } from "./get-item.js";
import { keys } from "./tables.js";

/**
 * Loads the config from the registry table's `CONFIG/CURRENT` item (written at deploy by the
 * stack, or by `shaper config push`). Cached for `cacheSeconds`, so a changed config takes effect
 * within that time without a redeploy.
 */
export class DynamoDbConfigSource implements ConfigSource {
  private cached: { config: ShaperConfig; loadedAt: number } | undefined;

  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tableName: string,
    private readonly clock: Clock,
    private readonly cacheSeconds = 60,
  ) {}

  async load(): Promise<ShaperConfig> {
    const now = this.clock.nowSeconds();
    if (this.cached && now - this.cached.loadedAt < this.cacheSeconds) return this.cached.config;
    const item = await getItem(
      this.client,
      this.tableName,
      keys.config(),
      `reading the config from ${this.tableName}`,
    );
    if (!item) {
      throw new ConfigError(
        `No config in table ${this.tableName} (item CONFIG/CURRENT). Deploy the stack (it writes the config from shaper:configFile), or run "shaper config push --file <config.json> --table ${this.tableName}".`,
      );
    }
    const config = parseConfig(item.config, `${this.tableName} CONFIG/CURRENT`);
    this.cached = { config, loadedAt: now };
    return config;
  }

  /** Validates and stores a config (used by the CLI and tests; the stack writes it at deploy). */
  async save(config: unknown, updatedAt: number): Promise<ShaperConfig> {
    const parsed = parseConfig(config, "the config to store");
    try {
      await this.client.send(
        new PutCommand({
          TableName: this.tableName,
          Item: { ...keys.config(), config: parsed, updatedAt },
        }),
      );
    } catch (error) {
      throw dependencyError("DynamoDB", `storing the config in ${this.tableName}`, error);
    }
    this.cached = undefined;
    return parsed;
  }
}
