#!/usr/bin/env python3
"""Reference predictions from the `lifetimes` package for the CDNOW fixture.

Fits BG/NBD on all 2,357 CDNOW customers and Gamma-Gamma on the repeat
customers with lifetimes (an independent implementation of the same models),
then writes per-customer predictions and the fitted parameters. The Rust test
`tests/cdnow.rs` compares kehu-analytics against the CSV written here.

Usage (from anywhere; needs Python 3.9+ and access to PyPI the first time):

    python3 crates/kehu-analytics/scripts/compare_lifetimes.py

The script creates a virtualenv (default ~/.cache/kehu/lifetimes-venv, or
$KEHU_LIFETIMES_VENV), installs pinned versions into it and re-runs itself
there. lifetimes 0.11.3 predates pandas 2 and recent NumPy/SciPy, so the pins
below are the newest combination that installs and runs on Python 3.11.
"""

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

PINS = [
    "lifetimes==0.11.3",
    "numpy==1.26.4",
    "scipy==1.11.4",
    "pandas==1.5.3",
    "autograd==1.6.2",
    "dill==0.3.7",
]

HERE = Path(__file__).resolve().parent
FIXTURES = HERE.parent / "tests" / "fixtures"

# Horizon of the expected-purchase column, in weeks (the length of the
# CDNOW calibration period, as in the paper's holdout comparison).
HORIZON_WEEKS = 39.0
# CLV settings: 12 months, 1% monthly discount, lifetimes' 4.345 weeks/month.
CLV_MONTHS = 12
CLV_DISCOUNT = 0.01
WEEKS_PER_MONTH = 4.345


def ensure_venv() -> None:
    """Re-run this script inside a virtualenv that has the pinned packages."""
    try:
        import lifetimes  # noqa: F401

        if lifetimes.__version__ == "0.11.3":
            return
    except ImportError:
        pass
    if os.environ.get("KEHU_LIFETIMES_REEXEC") == "1":
        sys.exit("lifetimes is still missing inside the virtualenv; see the pip output above")
    venv = Path(
        os.environ.get("KEHU_LIFETIMES_VENV", Path.home() / ".cache" / "kehu" / "lifetimes-venv")
    )
    python = venv / "bin" / "python"
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    subprocess.run([str(python), "-m", "pip", "install", "--quiet", *PINS], check=True)
    env = dict(os.environ, KEHU_LIFETIMES_REEXEC="1")
    os.execve(str(python), [str(python), __file__, *sys.argv[1:]], env)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--summary", type=Path, default=FIXTURES / "cdnow_summary.csv")
    parser.add_argument("--out", type=Path, default=FIXTURES / "lifetimes_reference.csv")
    parser.add_argument("--params-out", type=Path, default=FIXTURES / "lifetimes_reference.json")
    args = parser.parse_args()

    ensure_venv()
    import lifetimes
    import numpy
    import pandas
    import scipy
    from lifetimes import BetaGeoFitter, GammaGammaFitter

    data = pandas.read_csv(args.summary)
    x, t_x, age, zbar = data["x"], data["t_x"], data["T"], data["zbar"]

    bgf = BetaGeoFitter(penalizer_coef=0.0)
    bgf.fit(x, t_x, age)

    repeat = data[data["x"] > 0]
    ggf = GammaGammaFitter(penalizer_coef=0.0)
    ggf.fit(repeat["x"], repeat["zbar"])

    out = pandas.DataFrame(
        {
            "ID": data["ID"],
            "expected_purchases_39w": bgf.conditional_expected_number_of_purchases_up_to_time(
                HORIZON_WEEKS, x, t_x, age
            ),
            "p_alive": bgf.conditional_probability_alive(x, t_x, age),
            "expected_average_value": ggf.conditional_expected_average_profit(x, zbar),
            "clv_12m": ggf.customer_lifetime_value(
                bgf, x, t_x, age, zbar, time=CLV_MONTHS, discount_rate=CLV_DISCOUNT, freq="W"
            ).values,
        }
    )
    out.to_csv(args.out, index=False, float_format="%.17g")

    # BG/NBD log-likelihood in weeks, recomputed from the fitted parameters
    # because lifetimes reports it on its internally rescaled time axis.
    r, alpha, a, b = (float(bgf.params_[k]) for k in ("r", "alpha", "a", "b"))
    log_params = numpy.log([r, alpha, a, b])
    weights = numpy.ones(len(x))
    bg_ll = float(
        -BetaGeoFitter._negative_log_likelihood(
            log_params, x.values, t_x.values, age.values, weights, 0.0
        )
        * len(x)
    )
    summary = {
        "source": "lifetimes " + lifetimes.__version__,
        "versions": {
            "python": sys.version.split()[0],
            "numpy": numpy.__version__,
            "scipy": scipy.__version__,
            "pandas": pandas.__version__,
        },
        "bg_nbd": {"r": r, "alpha": alpha, "a": a, "b": b, "log_likelihood": bg_ll},
        "gamma_gamma": {
            "p": float(ggf.params_["p"]),
            "q": float(ggf.params_["q"]),
            "gamma": float(ggf.params_["v"]),
            "customers": int(len(repeat)),
        },
        "predictions": {
            "horizon_weeks": HORIZON_WEEKS,
            "clv_months": CLV_MONTHS,
            "clv_monthly_discount_rate": CLV_DISCOUNT,
            "weeks_per_month": WEEKS_PER_MONTH,
        },
    }
    args.params_out.write_text(json.dumps(summary, indent=2) + "\n")
    print(json.dumps(summary, indent=2))
    print(f"wrote {args.out} ({len(out)} customers)")


if __name__ == "__main__":
    main()
