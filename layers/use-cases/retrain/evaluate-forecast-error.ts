import { forecastRunId } from "../../domain/forecasting/forecast-error.js";
import { assessForecastError } from "../../domain/retrain/evaluate-error.js";
import type { Clock } from "../../ports/clock.js";
import type { ConfigSource } from "../../ports/config-source.js";
import type { ForecastStore } from "../../ports/forecast-store.js";
import { type EvaluatedState, type RetrainStart, resolveAsOf } from "./retrain-state.js";

/** Error accumulated over the last day is evaluated unless the start event says otherwise. */
export const DEFAULT_EVALUATION_WINDOW_SECONDS = 86_400;

export interface EvaluateForecastErrorDeps {
  readonly configSource: ConfigSource;
  readonly forecastStore: ForecastStore;
  readonly clock: Clock;
}

/**
 * The retrain flow's Evaluate step: sums the forecast error the forecast stage accumulated per
 * tier over the window before the run's time, and decides whether to retrain — when the pooled
 * or a tier's wQL passes `config.forecast.errorThresholdWql`, or coverage80 leaves [0.7, 0.9]
 * (see `assessForecastError`; groups with fewer than 100 scored points are not acted on), or when
 * the start event says `force`.
 *
 * @param deps config, forecast store (error summaries) and clock
 * @param input the flow's start state: `time` (ISO 8601), `trigger`, `force`, `windowSeconds`
 * @returns the input plus `asOf`, `needsRetrain`, overall `wql`/`coverage80`/`points`, `byTier`,
 *   the `window` read and the `reasons`
 * @throws DependencyError when the store fails (the step is retried)
 * @example
 * const state = await evaluateForecastError(deps, { time: "2026-11-27T03:17:00Z", trigger: "schedule" });
 * if (state.needsRetrain) await trainCandidate(deps, state);
 */
export async function evaluateForecastError(
  deps: EvaluateForecastErrorDeps,
  input: RetrainStart,
): Promise<EvaluatedState> {
  const config = await deps.configSource.load();
  const asOf = resolveAsOf(input.time, deps.clock, config.intervalSeconds);
  const windowSeconds = input.windowSeconds ?? DEFAULT_EVALUATION_WINDOW_SECONDS;
  const window = {
    from: asOf - windowSeconds,
    to: asOf,
    fromRunId: forecastRunId(asOf - windowSeconds),
    toRunId: forecastRunId(asOf),
  };
  const byTier = await deps.forecastStore.getErrorSummaries(window.fromRunId, window.toRunId);
  const assessment = assessForecastError(byTier, {
    errorThresholdWql: config.forecast.errorThresholdWql,
  });
  const forced = input.force === true;
  return {
    ...input,
    asOf,
    needsRetrain: assessment.needsRetrain || forced,
    wql: assessment.overall.wql,
    coverage80: assessment.overall.coverage80,
    points: assessment.overall.points,
    byTier: { ...assessment.byTier },
    window,
    reasons: forced
      ? [
          `retrain forced by the start event (${input.trigger ?? "no trigger named"})`,
          ...assessment.reasons,
        ]
      : [...assessment.reasons],
  };
}
