import { describe, expect, it } from "vitest";
import {
  holdoutSplit,
  joinHistoryAndFuture,
  rollingOrigins,
} from "../../../../../layers/domain/forecasting/backtest/backtest-split.js";
import type { SeriesInput } from "../../../../../layers/domain/forecasting/methods/method.js";

function series(id: string, start: number, values: number[], step = 300): SeriesInput {
  return { id, values, startSeconds: start, stepSeconds: step };
}

describe("holdoutSplit", () => {
  it("fits on the first 70 % of each series and scores the rest", () => {
    const split = holdoutSplit([
      series("a", 0, Array(100).fill(1)),
      series("b", 0, Array(15).fill(1)),
    ]);

    expect(split).toEqual({ trainEnd: [70, 10], testStart: [70, 10] });
  });

  it("rejects a fraction outside (0, 1)", () => {
    expect(() => holdoutSplit([], 1)).toThrow(/outside \(0, 1\)/);
  });
});

describe("rollingOrigins", () => {
  it("places origins every horizon steps while a full window fits", () => {
    expect(rollingOrigins(100, 70, 12)).toEqual([70, 82]);
    expect(rollingOrigins(100, 70, 3)).toHaveLength(10);
    expect(rollingOrigins(100, 70, 288)).toEqual([]);
  });
});

describe("joinHistoryAndFuture", () => {
  it("continues each series on its time grid, a gap between the files staying NaN", () => {
    const joined = joinHistoryAndFuture(
      [series("a", 0, [1, 2, 3])],
      [series("a", 5 * 300, [6, 7])],
    );

    expect(Array.from(joined.series[0]?.values ?? [])).toEqual([
      1,
      2,
      3,
      Number.NaN,
      Number.NaN,
      6,
      7,
    ]);
    expect(joined.split).toEqual({ trainEnd: [3], testStart: [5] });
  });

  it("fits only on the history where the future overlaps it, and scores the future's values", () => {
    const joined = joinHistoryAndFuture(
      [series("a", 0, [1, 2, 3, 4])],
      [series("a", 600, [9, 9, 9])],
    );

    expect(Array.from(joined.series[0]?.values ?? [])).toEqual([1, 2, 9, 9, 9]);
    expect(joined.split).toEqual({ trainEnd: [2], testStart: [2] });
  });

  it("keeps history-only series unscored and future-only series as cold starts", () => {
    const joined = joinHistoryAndFuture(
      [series("a", 0, [1, 2]), series("b", 0, [1, 2])],
      [series("b", 600, [3]), series("c", 600, [4, 5])],
    );

    expect(joined.series.map((s) => s.id)).toEqual(["a", "b", "c"]);
    expect(joined.split).toEqual({ trainEnd: [2, 2, 0], testStart: [2, 2, 0] });
    expect(joined.historyOnly).toEqual(["a"]);
    expect(joined.futureOnly).toEqual(["c"]);
  });

  it("rejects a future whose steps differ from the history's", () => {
    expect(() => joinHistoryAndFuture([series("a", 0, [1])], [series("a", 600, [1], 60)])).toThrow(
      /60-s steps in the future file/,
    );
  });

  it("rejects a future off the history's grid", () => {
    expect(() => joinHistoryAndFuture([series("a", 0, [1])], [series("a", 450, [1])])).toThrow(
      /off the history's step grid/,
    );
  });
});
