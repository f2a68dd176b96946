"""The statsforecast side of the forecast speed benchmark (`npm run bench`, local/forecast-bench.ts).

Reads N series of L values (float64, little-endian, row after row) and times
StatsForecast(models=[AutoETS(season_length=S)], freq=1, n_jobs=J).forecast(df, h=H, level=[20, 40, 60, 80])
- a fit and an H-step forecast per series with AutoETS's own 20/40/60/80 % prediction intervals
from the fitted model (lo-80..hi-80 = quantiles 0.1..0.9, the mean = 0.5); no conformal calibration.
Only that call is timed (not the interpreter start, the file read or the DataFrame build).
Prints one JSON object on stdout.

Usage: python statsforecast_speed.py DATA.f64 --series N --length L [--season 24] [--horizon 48] [--jobs 2]
"""

import argparse
import json
import os
import resource
import sys
import time

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
    os.environ.setdefault(_var, "1")


def cpu_seconds():
    """User + system CPU seconds of this process and its ended children."""
    total = 0.0
    for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN):
        usage = resource.getrusage(who)
        total += usage.ru_utime + usage.ru_stime
    return total


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data")
    parser.add_argument("--series", type=int, required=True)
    parser.add_argument("--length", type=int, required=True)
    parser.add_argument("--season", type=int, default=24)
    parser.add_argument("--horizon", type=int, default=48)
    parser.add_argument("--jobs", type=int, default=2)
    args = parser.parse_args(argv)

    expected = args.series * args.length * 8
    size = os.path.getsize(args.data)
    if size != expected:
        print(
            f"statsforecast_speed: {args.data} holds {size} bytes, expected {args.series} x "
            f"{args.length} float64 values ({expected} bytes)",
            file=sys.stderr,
        )
        return 2

    import warnings

    import numpy as np
    import pandas as pd
    import statsforecast
    from statsforecast import StatsForecast
    from statsforecast.models import AutoETS

    warnings.filterwarnings("ignore")
    values = np.fromfile(args.data, dtype="<f8")
    df = pd.DataFrame(
        {
            "unique_id": np.repeat(np.arange(args.series), args.length),
            "ds": np.tile(np.arange(args.length), args.series),
            "y": values,
        }
    )
    sf = StatsForecast(models=[AutoETS(season_length=args.season)], freq=1, n_jobs=args.jobs)
    cpu_before = cpu_seconds()
    started = time.perf_counter()
    forecast = sf.forecast(df=df, h=args.horizon, level=[20, 40, 60, 80])
    seconds = time.perf_counter() - started
    # The n_jobs worker processes have ended (their pool is shut down), so RUSAGE_CHILDREN holds them.
    cpu = cpu_seconds() - cpu_before
    # AutoETS, AutoETS-lo-80 ... AutoETS-hi-80: nine quantile columns
    columns = [c for c in forecast.columns if c.startswith("AutoETS")]
    if len(columns) != 9 or len(forecast) != args.series * args.horizon:
        print(
            f"statsforecast_speed: expected {args.series * args.horizon} rows x 9 AutoETS columns, "
            f"got {len(forecast)} x {columns}",
            file=sys.stderr,
        )
        return 3
    finite = bool(np.isfinite(forecast[columns].to_numpy()).all())
    usage_self = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    usage_children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024
    print(
        json.dumps(
            {
                "seconds": seconds,
                "cpuSeconds": cpu,
                "series": args.series,
                "rows": int(len(forecast)),
                "columns": len(columns),
                "finite": finite,
                "maxRssSelfBytes": usage_self,
                "maxRssLargestChildBytes": usage_children,
                "statsforecast": statsforecast.__version__,
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
