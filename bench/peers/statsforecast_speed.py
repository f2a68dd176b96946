"""The statsforecast side of `npm run bench:forecast`.

Reads N series of L values (float64, little-endian, row after row) and times
StatsForecast(models=[AutoETS(season_length=S)], freq=1, n_jobs=J).forecast(df, h=H, level=[20, 40, 60, 80])
- a fit and an H-step forecast per series with the 20/40/60/80 % intervals (quantiles 0.1..0.9).
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


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data")
    parser.add_argument("--series", type=int, required=True)
    parser.add_argument("--length", type=int, required=True)
    parser.add_argument("--season", type=int, default=24)
    parser.add_argument("--horizon", type=int, default=48)
    parser.add_argument("--jobs", type=int, default=2)
    args = parser.parse_args(argv)

    import warnings

    import numpy as np
    import pandas as pd
    from statsforecast import StatsForecast
    from statsforecast.models import AutoETS

    warnings.filterwarnings("ignore")
    values = np.fromfile(args.data, dtype="<f8")
    if values.size != args.series * args.length:
        print(
            f"statsforecast_speed: {args.data} holds {values.size} values, expected "
            f"{args.series} x {args.length}",
            file=sys.stderr,
        )
        return 2
    df = pd.DataFrame(
        {
            "unique_id": np.repeat(np.arange(args.series), args.length),
            "ds": np.tile(np.arange(args.length), args.series),
            "y": values,
        }
    )
    sf = StatsForecast(models=[AutoETS(season_length=args.season)], freq=1, n_jobs=args.jobs)
    started = time.perf_counter()
    forecast = sf.forecast(df=df, h=args.horizon, level=[20, 40, 60, 80])
    seconds = time.perf_counter() - started
    columns = [c for c in forecast.columns if c.startswith("AutoETS")]
    finite = bool(np.isfinite(forecast[columns].to_numpy()).all())
    usage_self = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    usage_children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024
    print(
        json.dumps(
            {
                "seconds": seconds,
                "series": args.series,
                "rows": int(len(forecast)),
                "columns": len(columns),
                "finite": finite,
                "maxRssSelfBytes": usage_self,
                "maxRssLargestChildBytes": usage_children,
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
