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
    `model.fit(y_train)` does with ConformalIntervals(h=main horizon, n_windows=3): the model
    itself on y_train, and its conformity scores from refits on the end of the fitting part
    (statsforecast's `_conformity_scores`: n = min(3, (len - 1) // h) windows, window k is
    `forecast(y_train[:end_k], h)` scored against the next h values). For every other horizon h
    the conformity scores are computed the same way with ConformalIntervals(h=h, n_windows=3).
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
  * Fallback: when a model cannot be fitted on a series (too short for its season or for 2
    conformal windows, or an error) or returns a non-finite value, that series is forecast by
    Naive() with the same conformal intervals (or, when even that is impossible, by the last
    observed value with zero-width intervals); the line says so in "fallback".

How the work is laid out (none of it changes what is computed):
  * Units. AutoETS(season_length=m) is nearly all of the cost: statsforecast optimises every
    candidate ETS model, the seasonal ones with m - 1 free initial states (m = 288 at 5-minute
    steps), and the fit plus its conformal refits are 1 + 3 such model selections per series. They
    are independent, so each is its own unit of work: "main" (the fit on y_train, then the
    forecasts at every origin) and one unit per conformal window and horizon. The other models
    are one unit per series each (fit with its conformity scores, then the origins).
  * Longest first. Units run on --jobs worker processes, most expensive first (estimated from the
    fitting length, the season and whether the data allow multiplicative models), so no worker
    is left alone with a long fit at the end.
  * MSTL's own conformity scores are not computed: MSTL.fit with prediction_intervals refits the
    whole MSTL three more times for `MSTL._cs`, which MSTL.predict never uses (its intervals are
    the trend forecaster's, `trend_forecaster._cs`). The runner passes ConformalIntervals to the
    trend forecaster directly, which is what MSTL.__init__ does with it, so the fitted model and
    the intervals are the same.
  * Cache (--cache DIR). Each unit's result is stored under a SHA-256 of everything it depends on
    (the runner's cache version, the statsforecast version, the model and its settings, the
    horizon(s), the window and the exact input values), so a rerun on the same data and split does
    not fit again. Lines say how many of their units came from the cache ("cached").

Timings are summed per model over the units of a series: "fitSeconds"/"predictSeconds" are the
units' elapsed seconds (as each ran on one core: core-seconds on an idle machine, more when other
work shares the cores), "cpuSeconds" their CPU time; a cached unit reports the seconds it took
when it was computed.

Usage: python statsforecast_runner.py REQUEST.json [--jobs 2] [--cache DIR]
       python statsforecast_runner.py REQUEST.json --check   (validate the request, no statsforecast)
       python statsforecast_runner.py REQUEST.json --plan    (the units in run order, no statsforecast)
"""

import argparse
import hashlib
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
# Bump when a unit's result would change for the same input (the cache key includes it).
CACHE_VERSION = 1


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


def conformal_windows(n, h):
    """Ends of statsforecast's conformal training windows for ConformalIntervals(h, 3) on n values.

    Mirrors `_TS._conformity_scores`: as many windows as fit, at most 3; fewer than 2 is an error.
    """
    n_windows = min(N_WINDOWS, (n - 1) // h)
    if n_windows < 2:
        raise ValueError(
            f"Prediction intervals settings require at least {2 * h + 1:,} samples, serie has {n:,}."
        )
    return [n - n_windows * h + k * h for k in range(n_windows)]


def scores_for(model, y_train, h):
    """statsforecast's conformity scores of `model` on y_train with ConformalIntervals(h, 3)."""
    from statsforecast.utils import ConformalIntervals

    probe = model.new()
    probe.prediction_intervals = ConformalIntervals(h=h, n_windows=N_WINDOWS)
    return probe._conformity_scores(y_train)


class SeriesData:
    """One series of the request: values (NaN where missing), fitting part and origins."""

    def __init__(self, request, index):
        import numpy as np

        s = request["series"][index]
        self.index = index
        self.y = np.array(
            [math.nan if v is None else float(v) for v in s["values"]], dtype=np.float64
        )
        self.train_end = s["trainEnd"]
        self.origins = {int(k): v for k, v in s["origins"].items() if v}
        self.horizons = sorted(self.origins)
        self.at = {h: set(points) for h, points in self.origins.items()}
        self.longest = {}
        for h, points in self.origins.items():
            for o in points:
                self.longest[o] = max(self.longest.get(o, 0), h)
        self.y_train = fill_prefix(self.y[: self.train_end])
        self.last_origin = max(self.longest) if self.longest else self.train_end


def mstl_seasons(request, n_train):
    m = request["seasonLength"]
    w = request.get("weeklySeasonLength")
    return [m, w] if w and n_train >= 3 * w else [m]


def build_model(name, request, n_train, horizon):
    """The peer model as issue 3 fixes it, with ConformalIntervals(h=horizon, n_windows=3)."""
    from statsforecast.models import MSTL, AutoETS, CrostonOptimized, SeasonalNaive
    from statsforecast.utils import ConformalIntervals

    m = request["seasonLength"]
    intervals = ConformalIntervals(h=horizon, n_windows=N_WINDOWS)
    if name == "AutoETS":
        return AutoETS(season_length=m, prediction_intervals=intervals)
    if name == "MSTL":
        # MSTL(..., prediction_intervals=intervals) hands `intervals` to its trend forecaster
        # (MSTL.__init__), whose conformity scores are the ones MSTL.predict uses. Passing them
        # there directly skips only MSTL's own, unused, `_cs` (three more MSTL refits).
        return MSTL(
            season_length=mstl_seasons(request, n_train),
            trend_forecaster=AutoETS(model="ZZN", prediction_intervals=intervals),
        )
    if name == "SeasonalNaive":
        return SeasonalNaive(season_length=m, prediction_intervals=intervals)
    return CrostonOptimized(prediction_intervals=intervals)


class Forecaster:
    """One model fitted on one series' fitting part, forecasting from later origins."""

    def __init__(self, name, request, y_train, horizons):
        self.name = name
        main = request["mainHorizon"]
        self.train_end = y_train.size
        self.model = build_model(name, request, y_train.size, main)
        if name == "AutoETS":
            # The conformal refits are separate units (window_unit); fitting here is ets_f on
            # y_train, as AutoETS.fit does before its _store_cs.
            intervals = self.model.prediction_intervals
            self.model.prediction_intervals = None
            self.model.fit(y_train)
            self.model.prediction_intervals = intervals
            for h in [main, *horizons]:  # AutoETS.fit (or the other horizons' scores) raises here
                conformal_windows(y_train.size, h)
            self.cs = {}
            return
        self.model.fit(y_train)
        if name == "MSTL":
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


def describe(error, limit=160):
    return f"{type(error).__name__}: {str(error)[:limit]}"


def main_unit(request, data, name):
    """Fits `name` on the series' fitting part and forecasts at every origin.

    Returns {"error", "forecastError", "cs" {h: rows}, "means" [[o, mean or None]], "fitSeconds",
    "predictSeconds"}; means after a forecast failure are None (the fallback takes over there).
    """
    import warnings

    import numpy as np

    warnings.filterwarnings("ignore")
    cpu_started = time.process_time()
    started = time.perf_counter()
    result = {"error": None, "forecastError": None, "cs": {}, "means": []}
    forecaster = None
    try:
        if data.y_train is None:
            raise ValueError("no observed value in the fitting part")
        forecaster = Forecaster(name, request, data.y_train, data.horizons)
        result["cs"] = {str(h): cs.tolist() for h, cs in forecaster.cs.items()}
    except Exception as error:  # noqa: BLE001 - any failure means: use the fallback
        result["error"] = f"fit: {describe(error)}"
        forecaster = None
    result["fitSeconds"] = time.perf_counter() - started
    started = time.perf_counter()
    if forecaster is not None:
        for o in sorted(data.longest):
            span = data.longest[o]
            mean = None
            if forecaster is not None:
                y_prefix = fill_prefix(data.y[:o])
                try:
                    if y_prefix is None:
                        raise ValueError("no observed value before the origin")
                    mean = np.asarray(forecaster.mean(y_prefix, span), dtype=np.float64)
                    if mean.shape != (span,) or not np.all(np.isfinite(mean)):
                        raise ValueError("non-finite forecast")
                except Exception as error:  # noqa: BLE001
                    result["forecastError"] = f"forecast at {o}: {describe(error, 120)}"
                    forecaster = None
                    mean = None
                    # Forecasts already made by this model stay; later origins use the fallback.
            result["means"].append([o, None if mean is None else mean.tolist()])
    result["predictSeconds"] = time.perf_counter() - started
    result["cpuSeconds"] = time.process_time() - cpu_started
    return result


def window_unit(request, data, name, h, k):
    """Conformity scores of conformal window k for horizon h (AutoETS): one refit.

    The same computation as window k of statsforecast's `_conformity_scores` with
    ConformalIntervals(h, 3): |forecast(y_train[:end_k], h) - y_train[end_k:end_k + h]|.
    """
    import warnings

    import numpy as np

    warnings.filterwarnings("ignore")
    cpu_started = time.process_time()
    started = time.perf_counter()
    result = {"error": None, "row": None}
    try:
        end = conformal_windows(data.y_train.size, h)[k]
        model = build_model(name, request, data.y_train.size, h)
        fc = model.forecast(h=h, y=data.y_train[:end], X=None, X_future=None)
        result["row"] = np.abs(fc["mean"] - data.y_train[end : end + h]).tolist()
    except Exception as error:  # noqa: BLE001
        result["error"] = f"fit: {describe(error)}"
    result["fitSeconds"] = time.perf_counter() - started
    result["cpuSeconds"] = time.process_time() - cpu_started
    return result


def plan_units(request, data):
    """(cost, series, model, part) for every unit of a series; part "main" or ["window", h, k]."""
    units = []
    if not data.horizons:
        return units
    m = request["seasonLength"]
    n = 0 if data.y_train is None else data.y_train.size
    positive = data.y_train is not None and float(data.y_train.min()) > 0
    origins = len(data.longest)
    for name in request.get("models", MODELS):
        if name == "AutoETS":
            # A model selection tries 15 candidate ETS models on positive data, else 6; each
            # costs about n likelihood evaluations per optimiser step, a seasonal candidate's
            # O(n m) and with m - 1 more free states (so it dominates whenever n > m).
            candidates = 2.5 if positive else 1.0
            selection = n * candidates * (30.0 + (m if n > m else 0) * 2.0)
            units.append((selection + n * origins * 0.1, data.index, name, "main"))
            if n > 0:
                for h in data.horizons:
                    try:
                        ends = conformal_windows(n, h)
                    except ValueError:
                        continue  # the main unit reports it
                    units.extend(
                        (selection, data.index, name, ["window", h, k]) for k in range(len(ends))
                    )
        elif name == "MSTL":
            # The decomposition, then the trend model (AutoETS ZZN) and its 3 conformal refits.
            seasons = len(mstl_seasons(request, n))
            units.append((n * (4 * 30.0 + 10.0 * seasons + origins * 0.1), data.index, name, "main"))
        else:
            units.append((n * (1.0 + origins * 0.01), data.index, name, "main"))
    return units


def unit_key(request, data, name, part, sf_version):
    """SHA-256 of everything a unit's result depends on."""
    digest = hashlib.sha256()
    settings = {
        "cacheVersion": CACHE_VERSION,
        "statsforecast": sf_version,
        "model": name,
        "part": part,
        "seasonLength": request["seasonLength"],
        "trainEnd": data.train_end,
    }
    if name == "MSTL":
        settings["mstlSeasons"] = mstl_seasons(request, data.train_end)
    if part == "main":
        settings["mainHorizon"] = request["mainHorizon"]
        settings["origins"] = {str(h): data.origins[h] for h in data.horizons}
        values = data.y[: data.last_origin]
    else:
        values = data.y[: data.train_end]
    digest.update(json.dumps(settings, sort_keys=True).encode())
    digest.update(values.tobytes())
    return digest.hexdigest()


class UnitCache:
    """Unit results on disk, one JSON file per key; None dir means no cache."""

    def __init__(self, directory):
        self.directory = directory

    def path(self, key):
        return os.path.join(self.directory, key[:2], f"{key}.json")

    def get(self, key):
        if self.directory is None:
            return None
        try:
            with open(self.path(key), encoding="utf-8") as f:
                return json.load(f)
        except (OSError, ValueError):
            return None

    def put(self, key, result):
        if self.directory is None:
            return
        target = self.path(key)
        os.makedirs(os.path.dirname(target), exist_ok=True)
        temp = f"{target}.{os.getpid()}.tmp"
        with open(temp, "w", encoding="utf-8") as f:
            json.dump(result, f, separators=(",", ":"))
        os.replace(temp, target)


class NaiveFallback:
    """Naive() with conformal intervals where possible; else last value, zero width."""

    def __init__(self, y_train, horizons):
        import numpy as np

        self.cs = {}
        if y_train is not None and y_train.size > 0:
            from statsforecast.models import Naive
            from statsforecast.utils import ConformalIntervals

            for h in horizons:
                try:
                    probe = Naive(prediction_intervals=ConformalIntervals(h=h, n_windows=N_WINDOWS))
                    self.cs[h] = probe._conformity_scores(y_train)
                except ValueError:
                    self.cs[h] = np.zeros((1, h))

    @staticmethod
    def mean(y, origin, h):
        """The last observed value before `origin` (0 when there is none), h times."""
        import numpy as np

        observed = np.flatnonzero(np.isfinite(y[:origin]))
        last = 0.0 if observed.size == 0 else float(y[observed[-1]])
        return np.full(h, last)

    def scores(self, h):
        import numpy as np

        return self.cs.get(h, np.zeros((1, h)))


def encode(rows):
    return [[float(f"{v:.7g}") for v in row] for row in rows]


def assemble(request, data, results):
    """NDJSON lines of one series from its units' results {(model, part): (result, cached)}."""
    import numpy as np

    lines = []
    fallback = None
    for name in request.get("models", MODELS):
        main, main_cached = results[(name, "main")]
        windows = sorted(
            ((part, r, c) for (n, part), (r, c) in results.items() if n == name and part != "main"),
            key=lambda item: (item[0][1], item[0][2]),
        )
        fit_seconds = main["fitSeconds"] + sum(r["fitSeconds"] for _, r, _ in windows)
        cached = int(main_cached) + sum(int(c) for _, _, c in windows)
        # CPU seconds of the units that recorded them (results cached by an older runner did not).
        cpu_seconds = main.get("cpuSeconds", 0.0) + sum(r.get("cpuSeconds", 0.0) for _, r, _ in windows)
        reason = main["error"]
        if reason is None:
            reason = next((r["error"] for _, r, _ in windows if r["error"] is not None), None)
        cs = {int(h): np.asarray(rows, dtype=np.float64) for h, rows in main["cs"].items()}
        if reason is None and name == "AutoETS":
            for h in data.horizons:
                rows = [r["row"] for (_, wh, _), r, _ in windows if wh == h]
                cs[h] = np.asarray(rows, dtype=np.float64)
        means = {} if reason is not None else {o: mean for o, mean in main["means"]}
        if reason is None:
            reason = main["forecastError"]
        started = time.perf_counter()
        rows_by_h = {h: [] for h in data.horizons}
        for o in sorted(data.longest):
            span = data.longest[o]
            mean = means.get(o)
            for h in data.horizons:
                if o not in data.at[h]:
                    continue
                if mean is not None:
                    rows = quantile_rows(np.asarray(mean), cs[h], h)
                else:
                    if fallback is None:
                        fallback = NaiveFallback(data.y_train, data.horizons)
                    rows = quantile_rows(
                        NaiveFallback.mean(data.y, o, span), fallback.scores(h), h
                    )
                rows_by_h[h].append(encode(rows))
        predict_seconds = main["predictSeconds"] + time.perf_counter() - started
        for h in data.horizons:
            first = h == data.horizons[0]
            lines.append(
                json.dumps(
                    {
                        "model": name,
                        "series": data.index,
                        "horizon": h,
                        "origins": data.origins[h],
                        "forecasts": rows_by_h[h],
                        "fitSeconds": fit_seconds if first else 0.0,
                        "predictSeconds": predict_seconds if first else 0.0,
                        "fallback": reason,
                        "cachedUnits": cached if first else 0,
                        "cpuSeconds": cpu_seconds if first else 0.0,
                    },
                    separators=(",", ":"),
                )
            )
    return lines


def run_unit(request, data, name, part):
    if part == "main":
        return main_unit(request, data, name)
    _, h, k = part
    return window_unit(request, data, name, h, k)


_REQUEST = None
_DATA = {}


def _init(request):
    global _REQUEST
    _REQUEST = request


def _task(unit):
    index, name, part = unit
    data = _DATA.get(index)
    if data is None:
        data = _DATA[index] = SeriesData(_REQUEST, index)
    return unit, run_unit(_REQUEST, data, name, part)


def planned_order(request):
    """Every unit of the request, in the order the workers take them: [series, model, part]."""
    units = []
    for index in range(len(request["series"])):
        units.extend(plan_units(request, SeriesData(request, index)))
    units.sort(key=lambda u: -u[0])
    return [[index, name, part] for _, index, name, part in units]


def run(request, jobs, cache_dir, out, progress):
    """Runs every unit (cached ones are read), writes each series' lines once it is complete."""
    from importlib.metadata import version

    sf_version = version("statsforecast")
    cache = UnitCache(cache_dir)
    total = len(request["series"])
    data = {}
    pending = {}
    results = {}
    todo = []
    keys = {}
    for index in range(total):
        d = SeriesData(request, index)
        units = plan_units(request, d)
        results[index] = {}
        pending[index] = len(units)
        if units:
            data[index] = d
        for cost, _, name, part in units:
            unit_id = (index, name, json.dumps(part))
            keys[unit_id] = unit_key(request, d, name, part, sf_version)
            hit = cache.get(keys[unit_id])
            if hit is not None:
                results[index][(name, part if part == "main" else tuple(part))] = (hit, True)
                pending[index] -= 1
            else:
                todo.append((cost, index, name, part))
    todo.sort(key=lambda u: -u[0])  # the same order as planned_order (a stable sort)

    done = 0
    started = time.perf_counter()

    def finish(index):
        nonlocal done
        if index in data:
            for line in assemble(request, data.pop(index), results.pop(index)):
                out.write(line)
                out.write("\n")
            out.flush()
        done += 1
        progress(done, total, time.perf_counter() - started)

    for index in range(total):
        if pending[index] == 0:
            finish(index)

    work = [(index, name, part) for _, index, name, part in todo]
    if jobs <= 1 or len(work) <= 1:
        outcomes = (_run_local(request, data, unit) for unit in work)
        pool = None
    else:
        import multiprocessing

        pool = multiprocessing.get_context("fork").Pool(
            processes=jobs, initializer=_init, initargs=(request,)
        )
        outcomes = pool.imap_unordered(_task, work, chunksize=1)
    try:
        for (index, name, part), result in outcomes:
            cache.put(keys[(index, name, json.dumps(part))], result)
            results[index][(name, part if part == "main" else tuple(part))] = (result, False)
            pending[index] -= 1
            if pending[index] == 0:
                finish(index)
    finally:
        if pool is not None:
            pool.close()
            pool.join()


def _run_local(request, data, unit):
    index, name, part = unit
    return unit, run_unit(request, data[index], name, part)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("request")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--cache", default=None, help="directory for cached unit results")
    parser.add_argument("--check", action="store_true", help="validate the request only")
    parser.add_argument(
        "--plan", action="store_true", help="print the units in run order (no statsforecast)"
    )
    args = parser.parse_args(argv)
    try:
        with open(args.request, encoding="utf-8") as f:
            request = validate_request(json.load(f))
    except (OSError, json.JSONDecodeError, RequestError) as error:
        print(f"statsforecast_runner: {error}", file=sys.stderr)
        return 2
    if args.check:
        print(json.dumps({"ok": True, "series": len(request["series"])}))
        return 0
    if args.plan:
        print(json.dumps(planned_order(request), separators=(",", ":")))
        return 0

    def progress(done, total, seconds):
        print(f"progress {done} {total} {seconds:.1f}", file=sys.stderr, flush=True)

    run(request, args.jobs, args.cache, sys.stdout, progress)
    return 0


if __name__ == "__main__":
    sys.exit(main())
