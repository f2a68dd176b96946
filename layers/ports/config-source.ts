import type { ShaperConfig } from "../domain/config.js";

/** Loads the deployment's config (pools, tiers, schedule). In AWS: a registry item; locally: a file. */
export interface ConfigSource {
  /** @throws ConfigError when the stored config is invalid. */
  load(): Promise<ShaperConfig>;
}
