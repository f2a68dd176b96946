import { DependencyError } from "../domain/errors.js";
import type {
  ForecastInstance,
  ForecastModel,
  ForecastOptions,
  ForecastOutput,
  ModelIdentity,
} from "../ports/forecast-model.js";

/** A batch's forecasts and the model that made them. */
export interface ModelAnswer {
  readonly outputs: readonly ForecastOutput[];
  readonly identity: ModelIdentity;
  /** Set when the fallback answered: why the primary model did not. */
  readonly fallbackReason?: string;
}

export interface FallbackForecasterOptions {
  /**
   * After this many consecutive primary failures the primary is skipped for the rest of the run,
   * so a down endpoint costs a few timeouts, not one per batch. @default 3
   */
  readonly maxConsecutiveFailures?: number;
}

/** Longest fallback reason kept on a forecast. */
const MAX_REASON_LENGTH = 500;

/**
 * Calls the primary model (the endpoint) and, when it fails with a DependencyError (down, timed
 * out, malformed answer), the fallback model (in-process), recording why. One instance per run:
 * it remembers consecutive failures and stops calling a primary that keeps failing. Errors other
 * than DependencyError are bugs and propagate.
 *
 * @example
 * const forecaster = new FallbackForecaster(endpointModel, inProcessModel);
 * const { outputs, identity, fallbackReason } = await forecaster.forecast(instances, options);
 */
export class FallbackForecaster {
  private consecutiveFailures = 0;
  private lastFailure = "";
  private readonly maxConsecutiveFailures: number;

  constructor(
    private readonly primary: ForecastModel,
    private readonly fallback: ForecastModel,
    options: FallbackForecasterOptions = {},
  ) {
    this.maxConsecutiveFailures = options.maxConsecutiveFailures ?? 3;
  }

  /** @throws DependencyError only when the fallback fails too */
  async forecast(
    instances: readonly ForecastInstance[],
    options: ForecastOptions,
  ): Promise<ModelAnswer> {
    if (this.consecutiveFailures >= this.maxConsecutiveFailures) {
      return this.answerWithFallback(
        instances,
        options,
        `${this.primary.identity.model} skipped after ${this.consecutiveFailures} consecutive failures this run; last: ${this.lastFailure}`,
      );
    }
    try {
      const outputs = await this.primary.forecast(instances, options);
      if (outputs.length !== instances.length) {
        throw new DependencyError(
          this.primary.identity.model,
          `${this.primary.identity.model} answered ${outputs.length} forecasts for ${instances.length} series.`,
          { retryable: false },
        );
      }
      this.consecutiveFailures = 0;
      return { outputs, identity: this.primary.identity };
    } catch (error) {
      if (!(error instanceof DependencyError)) throw error;
      this.consecutiveFailures++;
      this.lastFailure = error.message;
      return this.answerWithFallback(instances, options, error.message);
    }
  }

  private async answerWithFallback(
    instances: readonly ForecastInstance[],
    options: ForecastOptions,
    reason: string,
  ): Promise<ModelAnswer> {
    const outputs = await this.fallback.forecast(instances, options);
    return {
      outputs,
      identity: this.fallback.identity,
      fallbackReason:
        reason.length > MAX_REASON_LENGTH ? `${reason.slice(0, MAX_REASON_LENGTH - 1)}…` : reason,
    };
  }
}
