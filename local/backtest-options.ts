import { InvalidArgumentError } from "commander";

/** Option parsers of `shaper backtest`, kept light so the CLI loads no forecasting code to parse. */

/** Parses "3,12,288" into whole numbers ≥ 1. */
export function parseStepList(option: string) {
  return (value: string): number[] => {
    const steps = value.split(",").map((part) => Number(part.trim()));
    if (steps.some((n) => !Number.isInteger(n) || n < 1)) {
      throw new InvalidArgumentError(
        `${option} must be a comma-separated list of whole numbers ≥ 1, e.g. 3,12,288; got "${value}".`,
      );
    }
    return steps;
  };
}

/** Parses "shaper,seasonal-naive" into names. */
export function parseNameList(value: string): string[] {
  const names = value
    .split(",")
    .map((part) => part.trim())
    .filter((part) => part !== "");
  if (names.length === 0) {
    throw new InvalidArgumentError(`Expected a comma-separated list of names, got "${value}".`);
  }
  return names;
}

/** Parses --peer-horizons: "main" or "all". */
export function parsePeerHorizons(value: string): "main" | "all" {
  if (value === "main" || value === "all") return value;
  throw new InvalidArgumentError(`--peer-horizons must be "main" or "all", got "${value}".`);
}
