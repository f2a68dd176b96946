"""Peer forecasts for `shaper backtest --peers statsforecast`.

Reads a request (JSON) naming the series, each series' fitting part and the rolling origins of
every horizon, and writes one NDJSON line per (model, series, horizon) to stdout with the
forecast quantiles 0.1..0.9 at each origin. The TypeScript side scores them with the same code
as shaper's own methods, so every model is measured on identical windows.

Models, fixed by issue 3 (season m = one day of steps, w = one week):
  AutoETS(season_length=m)
  MSTL(season_length=[m] or [m, w] when the fitting part holds three weeks,
       trend_forecaster=AutoETS(model="ZZN"))
  SeasonalNaive(season_length=m)
  CrostonOptimized()
each with ConformalIntervals(h=horizon, n_windows=3); levels 20/40/60/80 become the quantiles
0.1..0.9 (lo-80 = 0.1, lo-60 = 0.2, lo-40 = 0.3, lo-20 = 0.4, mean = 0.5, hi-20 = 0.6, ...).

Protocol (the same as shaper's methods, see docs/backtest.md):
  * Each model is fitted ONCE per series on the fitting part (values before trainEnd), exactly as
    `model.fit(y_train)` does with ConformalIntervals(h=main horizon, n_windows=3): the 3
    conformal windows are refits on the end of the fitting part. For every other horizon h the
    conformity scores are computed the same way with ConformalIntervals(h=h, n_windows=3)
    (statsforecast's own `_conformity_scores`, 3 refits).
  * At each origin o the model forecasts from y[:o] only, never later values:
      AutoETS   `forward(y[:o], h)`: the fitted model (parameters fixed) run over the data up to o;
      MSTL      the fitted decomposition's seasonal profiles extended past the fitting part as MSTL's
                own `predict` extends them, and the fitted trend model (AutoETS ZZN) `forward`ed over
                the deseasonalised data up to o; (statsforecast's `MSTL.forward` re-decomposes the
                whole series at each origin, 0.5-20 s a call, which no 15-minute budget allows);
      SeasonalNaive, CrostonOptimized  `forecast(y[:o], h)` (no fitted state to carry; Croston
                re-estimates its smoothing at each origin, which can only help it);
    the intervals come from the conformity scores computed at fit (what `predict` uses), applied
    with statsforecast's own conformal-distribution function.
  * statsforecast takes no NaN: gaps in y[:o] are filled inside this runner only, linearly between
    the observed neighbours, with the first observed value before the first observation and the
    last observed value after the last one (values after o are never used to fill). Scoring
    uses the real actuals (NaN actuals are not scored).
  * Fallback: when a model cannot be fitted on a series (too short for its season or for 3
    conformal windows, or an error) or returns a non-finite value, that series is forecast by
    Naive() with the same conformal intervals (or, when even that is impossible, by the last
    observed value with zero-width intervals); the line says so in "fallback".

Series are processed in parallel by --jobs worker processes (numeric libraries pinned to one
thread each, so --jobs 2 uses two cores). Timings are summed per model over series: core-seconds.

Usage: python statsforecast_runner.py REQUEST.json [--jobs 2]
       python statsforecast_runner.py REQUEST.json --check   (validate the request, no statsforecast)
"""

import argparse
import json
import math
import os
import sys
import time

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

MODELS = ("AutoETS", "MSTL", "SeasonalNaive", "CrostonOptimized")
LEVELS = (20, 40, 60, 80)
N_WINDOWS = 3


class RequestError(ValueError):
    """The request file is not what this runner expects."""


def validate_request(request):
    """Checks the request's shape; returns it. Raises RequestError naming the bad field."""

    def fail(field, expected):
        raise RequestError(f"request field {field}: expected {expected}")

    if not isinstance(request, dict):
        fail("(root)", "an object")
    for key in ("seasonLength", "mainHorizon"):
        if not isinstance(request.get(key), int) or request[key] < 1:
            fail(key, "an integer >= 1")
    weekly = request.get("weeklySeasonLength")
    if weekly is not None and (not isinstance(weekly, int) or weekly < 1):
        fail("weeklySeasonLength", "an integer >= 1 or absent")
    models = request.get("models", list(MODELS))
    if not isinstance(models, list) or any(m not in MODELS for m in models):
        fail("models", f"a list drawn from {', '.join(MODELS)}")
    series = request.get("series")
    if not isinstance(series, list):
        fail("series", "a list")
    for i, s in enumerate(series):
        where = f"series[{i}]"
        if not isinstance(s, dict):
            fail(where, "an object")
        values = s.get("values")
        if not isinstance(values, list) or any(
            v is not None and not isinstance(v, (int, float)) for v in values
        ):
            fail(f"{where}.values", "a list of numbers or null (missing)")
        train_end = s.get("trainEnd")
        if not isinstance(train_end, int) or not 0 <= train_end <= len(values):
            fail(f"{where}.trainEnd", f"an integer in [0, {len(values)}]")
        origins = s.get("origins")
        if not isinstance(origins, dict):
            fail(f"{where}.origins", 'an object {"<horizon>": [origins]}')
        for key, points in origins.items():
            if not key.isdigit() or int(key) < 1:
                fail(f"{where}.origins", "horizon keys that are integers >= 1")
            h = int(key)
            if not isinstance(points, list) or any(
                not isinstance(o, int) or o < train_end or o + h > len(values) for o in points
            ):
                fail(
                    f"{where}.origins.{key}",
                    f"integers o with trainEnd <= o and o + {h} <= {len(values)}",
                )
    return request


def fill_prefix(y):
    """Gap-filled copy of y (the data before an origin), or None when nothing is observed."""
    import numpy as np

    observed = np.flatnonzero(np.isfinite(y))
    if observed.size == 0:
        return None
    if observed.size == y.size:
        return y.astype(np.float64, copy=True)
    # np.interp is linear between observed points and constant beyond the first/last one.
    return np.interp(np.arange(y.size, dtype=np.float64), observed, y[observed])


def quantile_rows(mean, cs, h):
    """Quantiles 0.1..0.9 (rows) for the first h steps, from statsforecast's conformal function."""
    import numpy as np
    from statsforecast.models import _add_conformal_distribution_intervals

    fc = {"mean": np.asarray(mean[:h], dtype=np.float64)}
    fc = _add_conformal_distribution_intervals(fc, cs[:, :h], list(LEVELS))
    rows = [fc[f"lo-{lv}"] for lv in reversed(LEVELS)]
    rows.append(fc["mean"])
    rows.extend(fc[f"hi-{lv}"] for lv in LEVELS)
    return rows


def scores_for(model, y_train, h):
    """statsforecast's conformity scores of `model` on y_train with ConformalIntervals(h, 3)."""
    from statsforecast.utils import ConformalIntervals

    probe = model.new()
    probe.prediction_intervals = ConformalIntervals(h=h, n_windows=N_WINDOWS)
    return probe._conformity_scores(y_train)


class Peer:
    """One model fitted on one series, forecasting from later origins."""

    def __init__(self, name, request, y_train, horizons):
        from statsforecast.models import (
            MSTL,
            AutoETS,
            CrostonOptimized,
            SeasonalNaive,
        )
        from statsforecast.utils import ConformalIntervals

        self.name = name
        m = request["seasonLength"]
        main = request["mainHorizon"]
        intervals = ConformalIntervals(h=main, n_windows=N_WINDOWS)
        self.train_end = y_train.size
        if name == "AutoETS":
            self.model = AutoETS(season_length=m, prediction_intervals=intervals)
        elif name == "MSTL":
            w = request.get("weeklySeasonLength")
            seasons = [m, w] if w and y_train.size >= 3 * w else [m]
            self.model = MSTL(
                season_length=seasons,
                trend_forecaster=AutoETS(model="ZZN"),
                prediction_intervals=intervals,
            )
        elif name == "SeasonalNaive":
            self.model = SeasonalNaive(season_length=m, prediction_intervals=intervals)
        else:
            self.model = CrostonOptimized(prediction_intervals=intervals)
        self.model.fit(y_train)
        if name == "MSTL":
            # The intervals MSTL.predict adds are its trend forecaster's (fitted on the
            # deseasonalised training data).
            self.x_sa = self.model.model_[["trend", "remainder"]].sum(axis=1).values
            scored, data = self.model.trend_forecaster, self.x_sa
        else:
            scored, data = self.model, y_train
        self.cs = {main: scored._cs}
        for h in horizons:
            if h not in self.cs:
                self.cs[h] = scores_for(scored, data, h)

    def mean(self, y_prefix, h):
        """Point forecast of h steps from origin len(y_prefix) (y_prefix gap-filled)."""
        import numpy as np

        if self.name == "AutoETS":
            return self.model.forward(y=y_prefix, h=h)["mean"]
        if self.name == "MSTL":
            from statsforecast.models import _predict_mstl_seas

            o = y_prefix.size
            ahead = o - self.train_end
            seas = _predict_mstl_seas(
                self.model.model_, h=ahead + h, season_length=self.model.season_length
            )
            seas = np.asarray(seas, dtype=np.float64)
            x_sa = np.concatenate([self.x_sa, y_prefix[self.train_end :] - seas[:ahead]])
            trend = self.model.trend_forecaster.forward(y=x_sa, h=h)["mean"]
            return trend + seas[ahead : ahead + h]
        return self.model.forecast(y=y_prefix, h=h)["mean"]


class NaiveFallback:
    """Naive() with conformal intervals where possible; else last value, zero width."""

    def __init__(self, y_train, horizons):
        import numpy as np

        self.cs = {}
        self.model = None
        if y_train is not None and y_train.size > 0:
            from statsforecast.models import Naive
            from statsforecast.utils import ConformalIntervals

            for h in horizons:
                try:
                    probe = Naive(prediction_intervals=ConformalIntervals(h=h, n_windows=N_WINDOWS))
                    self.cs[h] = probe._conformity_scores(y_train)
                except ValueError:
                    self.cs[h] = np.zeros((1, h))
        self.zero = lambda h: np.zeros((1, h))

    def mean(self, y_prefix, h):
        import numpy as np

        last = 0.0 if y_prefix is None or y_prefix.size == 0 else float(y_prefix[-1])
        return np.full(h, last)

    def scores(self, h):
        return self.cs.get(h, self.zero(h))


def encode(rows):
    return [[float(f"{v:.7g}") for v in row] for row in rows]


def run_series(args):
    """Forecasts one series with every model; returns NDJSON lines."""
    import warnings

    import numpy as np

    warnings.filterwarnings("ignore")
    index, request = args
    s = request["series"][index]
    y = np.array([math.nan if v is None else float(v) for v in s["values"]], dtype=np.float64)
    train_end = s["trainEnd"]
    origins = {int(k): v for k, v in s["origins"].items() if v}
    horizons = sorted(origins)
    if not horizons:
        return []
    at = {h: set(points) for h, points in origins.items()}
    longest = {}
    for h, points in origins.items():
        for o in points:
            longest[o] = max(longest.get(o, 0), h)
    y_train = fill_prefix(y[:train_end])

    peers = {}
    for name in request.get("models", MODELS):
        started = time.perf_counter()
        reason = None
        peer = None
        try:
            if y_train is None:
                raise ValueError("no observed value in the fitting part")
            peer = Peer(name, request, y_train, horizons)
        except Exception as error:  # noqa: BLE001 - any failure means: use the fallback
            reason = f"fit: {type(error).__name__}: {str(error)[:160]}"
            peer = None
        peers[name] = {
            "peer": peer,
            "fallback": reason,
            "fitSeconds": time.perf_counter() - started,
            "predictSeconds": 0.0,
            "rows": {h: [] for h in horizons},
        }

    fallback = None
    for o in sorted(longest):
        y_prefix = fill_prefix(y[:o])
        for name, state in peers.items():
            started = time.perf_counter()
            span = longest[o]
            mean = None
            if state["peer"] is not None and y_prefix is not None:
                try:
                    mean = np.asarray(state["peer"].mean(y_prefix, span), dtype=np.float64)
                    if mean.shape != (span,) or not np.all(np.isfinite(mean)):
                        raise ValueError("non-finite forecast")
                except Exception as error:  # noqa: BLE001
                    state["fallback"] = f"forecast at {o}: {type(error).__name__}: {str(error)[:120]}"
                    state["peer"] = None
                    mean = None
                    # Forecasts already made by this model stay; later origins use the fallback.
            for h in horizons:
                if o not in at[h]:
                    continue
                if mean is not None:
                    rows = quantile_rows(mean, state["peer"].cs[h], h)
                else:
                    if fallback is None:
                        fallback = NaiveFallback(y_train, horizons)
                    base = fallback.mean(y_prefix, span)
                    rows = quantile_rows(base, fallback.scores(h), h)
                state["rows"][h].append(encode(rows))
            state["predictSeconds"] += time.perf_counter() - started

    lines = []
    for name, state in peers.items():
        for h in horizons:
            lines.append(
                json.dumps(
                    {
                        "model": name,
                        "series": index,
                        "horizon": h,
                        "origins": origins[h],
                        "forecasts": state["rows"][h],
                        "fitSeconds": state["fitSeconds"] if h == horizons[0] else 0.0,
                        "predictSeconds": state["predictSeconds"] if h == horizons[0] else 0.0,
                        "fallback": state["fallback"],
                    },
                    separators=(",", ":"),
                )
            )
    return lines


_REQUEST = None


def _init(request):
    global _REQUEST
    _REQUEST = request


def _task(index):
    return run_series((index, _REQUEST))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("request")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--check", action="store_true")
    args = parser.parse_args(argv)
    try:
        with open(args.request, encoding="utf-8") as f:
            request = validate_request(json.load(f))
    except (OSError, json.JSONDecodeError, RequestError) as error:
        print(f"statsforecast_runner: {error}", file=sys.stderr)
        return 2
    total = len(request["series"])
    if args.check:
        print(json.dumps({"ok": True, "series": total}))
        return 0

    out = sys.stdout
    done = 0
    started = time.perf_counter()
    indexes = list(range(total))
    if args.jobs <= 1:
        results = (run_series((i, request)) for i in indexes)
        pool = None
    else:
        import multiprocessing

        pool = multiprocessing.get_context("fork").Pool(
            processes=args.jobs, initializer=_init, initargs=(request,)
        )
        results = pool.imap_unordered(_task, indexes)
    try:
        for lines in results:
            for line in lines:
                out.write(line)
                out.write("\n")
            out.flush()
            done += 1
            print(
                f"progress {done} {total} {time.perf_counter() - started:.1f}",
                file=sys.stderr,
                flush=True,
            )
    finally:
        if pool is not None:
            pool.close()
            pool.join()
    return 0


if __name__ == "__main__":
    sys.exit(main())
