import type { ShaperConfig } from "../../domain/config.js";
import type { ConfigSource } from "../../ports/config-source.js";

/** A config already loaded and validated (local runtime, tests). */
export class StaticConfigSource implements ConfigSource {
  constructor(private readonly config: ShaperConfig) {}

  async load(): Promise<ShaperConfig> {
    return this.config;
  }
}
