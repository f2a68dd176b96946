import { InvalidArgumentError } from "commander";
import { conformalMethod } from "../layers/domain/forecasting/methods/conformal.js";
import { crostonMethod } from "../layers/domain/forecasting/methods/croston.js";
import { etsMethod } from "../layers/domain/forecasting/methods/ets.js";
import { globalMethod } from "../layers/domain/forecasting/methods/global/global-method.js";
import type { ForecastMethod } from "../layers/domain/forecasting/methods/method.js";
import { seasonalNaiveMethod } from "../layers/domain/forecasting/methods/seasonal-naive-method.js";
import { shaperMethod } from "../layers/domain/forecasting/methods/selection.js";

/**
 * The forecasting methods the `shaper backtest` command and the forecast speed bench of `npm run bench` can run, by
 * name. "shaper" is the product's own choice (per-series selection with conformal intervals);
 * "seasonal-naive" is the floor. Add an entry here to make a method available to both.
 */

export interface MethodEntry {
  readonly name: string;
  readonly description: string;
  /** A fresh method (methods may keep per-fit state, so one per run). */
  readonly create: () => ForecastMethod;
}

export const FORECAST_METHODS: readonly MethodEntry[] = [
  {
    name: "shaper",
    description:
      "the product's method: per-series choice among ETS, naive, seasonal naive (and Croston/SBA/TSB where intermittent) or a combination, with conformal intervals",
    create: () => shaperMethod(),
  },
  {
    name: "seasonal-naive",
    description: "the floor: the value one day back, empirical quantiles of daily differences",
    create: () => seasonalNaiveMethod(),
  },
  {
    name: "ets",
    description: "ETS (additive/damped trend, daily season) chosen by AICc, conformal intervals",
    create: () => conformalMethod(etsMethod()),
  },
  {
    name: "croston",
    description: "Croston/SBA/TSB chosen per series, conformal intervals",
    create: () => conformalMethod(crostonMethod()),
  },
  {
    name: "global",
    description: "one model for all series trained on the pinball loss (also serves cold starts)",
    create: () => globalMethod(),
  },
];

/** The methods a run uses when none are named: the product and the floor. */
export const DEFAULT_METHODS: readonly string[] = ["shaper", "seasonal-naive"];

/**
 * Looks up methods by name.
 *
 * @param names method names, e.g. ["shaper", "seasonal-naive"]
 * @returns one fresh method per name, in the order given
 * @throws InvalidArgumentError naming the unknown name and listing the known ones
 */
export function forecastMethods(names: readonly string[]): ForecastMethod[] {
  return names.map((name) => {
    const entry = FORECAST_METHODS.find((m) => m.name === name);
    if (!entry) {
      throw new InvalidArgumentError(
        `Unknown forecasting method "${name}". Known: ${FORECAST_METHODS.map((m) => m.name).join(", ")}.`,
      );
    }
    return entry.create();
  });
}
