#!/usr/bin/env python3
"""Kehu's analytics side by side with pandas, polars, DuckDB and lifetimes.

One run, one machine, the same data for everyone:

1. `cargo bench -p kehu-analytics --bench analytics` generates the orders
   (1M customers and 10M orders by default), times Kehu's models and writes
   the orders, the CLV input summary and a JSON report of its timings and
   fitted parameters;
2. this script loads those orders into pandas, polars and DuckDB (loading is
   not timed) and times each doing the same work from its in-memory table:
   RFM (window, measures, quintile scores with equal values scoring equally,
   the 5 x 5 segment table) and the revenue pyramid with its Pareto curve;
3. it times `lifetimes` fitting BG/NBD and Gamma-Gamma on the same summary
   and compares the parameters with Kehu's;
4. the same on the CDNOW sample (transactions and published summary).

Usage (needs Python 3.9+, a Rust toolchain, and PyPI the first time):

    python3 crates/kehu-analytics/scripts/compare_peers.py [--customers N --orders N]

Peers are installed into a virtualenv (default ~/.cache/kehu/peers-venv,
or $KEHU_PEERS_VENV) with pinned versions; lifetimes 0.11.3 needs the
older NumPy/SciPy/pandas pinned below. Results go to stdout as Markdown and
to target/peers/results.json.
"""

import argparse
import json
import math
import os
import subprocess
import sys
import time
from pathlib import Path

PINS = [
    "lifetimes==0.11.3",
    "numpy==1.26.4",
    "scipy==1.11.4",
    "pandas==1.5.3",
    "autograd==1.6.2",
    "dill==0.3.7",
    "polars==1.12.0",
    "duckdb==1.1.3",
]

HERE = Path(__file__).resolve().parent
CRATE = HERE.parent
ROOT = CRATE.parent.parent
FIXTURES = CRATE / "tests" / "fixtures"
OUT = ROOT / "target" / "peers"
RUNS = 3


def ensure_venv() -> None:
    try:
        import duckdb  # noqa: F401
        import lifetimes  # noqa: F401
        import polars  # noqa: F401

        return
    except ImportError:
        pass
    if os.environ.get("KEHU_PEERS_REEXEC") == "1":
        sys.exit("the peers are still missing inside the virtualenv; see the pip output above")
    venv = Path(os.environ.get("KEHU_PEERS_VENV", Path.home() / ".cache" / "kehu" / "peers-venv"))
    python = venv / "bin" / "python"
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    subprocess.run([str(python), "-m", "pip", "install", "--quiet", *PINS], check=True)
    env = dict(os.environ, KEHU_PEERS_REEXEC="1")
    os.execve(str(python), [str(python), __file__, *sys.argv[1:]], env)


def best_of(f, runs=RUNS):
    times = []
    out = None
    for _ in range(runs):
        t = time.perf_counter()
        out = f()
        times.append(time.perf_counter() - t)
    return min(times) * 1e3, out


def quintile_positions(n):
    # The value at position ceil(k * n / 5) - 1 of the ascending order is
    # the k-th cut; a value scores 1 + the number of cuts strictly below it.
    return [math.ceil(k * n / 5) - 1 for k in range(1, 5)]


# ---------------------------------------------------------------- pandas
def pandas_rfm(pd, np, o, start, as_of, grid):
    w = o[(o.day > start) & (o.day <= as_of)]
    purchase = w.amount_minor >= 0
    g = (
        w.assign(p=purchase, pday=w.day.where(purchase))
        .groupby("customer_id", sort=False)
        .agg(last=("pday", "max"), f=("p", "sum"), m=("amount_minor", "sum"))
    )
    g = g[g.f > 0]
    r = (g["last"] - as_of).to_numpy()  # -(recency): larger is better
    f = g["f"].to_numpy()
    m = g["m"].to_numpy()
    scores = []
    for x in (r, f, m):
        cuts = np.sort(x)[quintile_positions(len(x))]
        scores.append(1 + (x[:, None] > cuts[None, :]).sum(axis=1))
    R, F, M = scores
    seg = grid[(R - 1) * 5 + (F + M) // 2 - 1]
    return pd.Series(seg).value_counts()


def pandas_pyramid(np, o, start, as_of):
    w = o[(o.day > start) & (o.day <= as_of)]
    rev = w.groupby("customer_id", sort=False).amount_minor.sum().to_numpy()
    v = -np.sort(-rev)
    cum = np.cumsum(v)
    n = len(v)
    head, waist = math.ceil(0.1 * n), math.ceil(0.4 * n)
    shares = (cum[head - 1], cum[waist - 1] - cum[head - 1], cum[-1] - cum[waist - 1])
    curve = [0] + [int(cum[max(round(i * n / 100), 1) - 1]) for i in range(1, 101)]
    return shares, curve


# ---------------------------------------------------------------- polars
def polars_rfm(pl, o, start, as_of, grid):
    g = (
        o.lazy()
        .filter((pl.col("day") > start) & (pl.col("day") <= as_of))
        .group_by("customer_id")
        .agg(
            last=pl.col("day").filter(pl.col("amount_minor") >= 0).max(),
            f=(pl.col("amount_minor") >= 0).sum(),
            m=pl.col("amount_minor").sum(),
        )
        .filter(pl.col("f") > 0)
        .with_columns(r=pl.col("last") - as_of)
        .collect()
    )
    n = g.height
    pos = quintile_positions(n)
    exprs = []
    for name in ("r", "f", "m"):
        cuts = g[name].sort().gather(pos).to_list()
        exprs.append(
            (1 + sum((pl.col(name) > c).cast(pl.Int32) for c in cuts)).alias(name.upper())
        )
    grid_s = pl.Series("segment", grid)
    scored = g.select(exprs)
    idx = (scored["R"] - 1) * 5 + (scored["F"] + scored["M"]) // 2 - 1
    return grid_s.gather(idx).value_counts()


def polars_pyramid(pl, o, start, as_of):
    rev = (
        o.lazy()
        .filter((pl.col("day") > start) & (pl.col("day") <= as_of))
        .group_by("customer_id")
        .agg(pl.col("amount_minor").sum())
        .sort("amount_minor", descending=True)
        .select(pl.col("amount_minor").cum_sum())
        .collect()["amount_minor"]
    )
    n = len(rev)
    head, waist = math.ceil(0.1 * n), math.ceil(0.4 * n)
    total = rev[n - 1]
    shares = (rev[head - 1], rev[waist - 1] - rev[head - 1], total - rev[waist - 1])
    curve = [0] + rev.gather([max(round(i * n / 100), 1) - 1 for i in range(1, 101)]).to_list()
    return shares, curve


# ---------------------------------------------------------------- DuckDB
def duckdb_rfm(con, start, as_of):
    return con.execute(
        f"""
        WITH m AS (
            SELECT customer_id,
                   max(day) FILTER (WHERE amount_minor >= 0) - {as_of} AS r,
                   count(*) FILTER (WHERE amount_minor >= 0) AS f,
                   sum(amount_minor) AS m
            FROM orders WHERE day > {start} AND day <= {as_of}
            GROUP BY customer_id
            HAVING count(*) FILTER (WHERE amount_minor >= 0) > 0
        ),
        s AS (SELECT list_sort(list(r)) AS rs, list_sort(list(f)) AS fs,
                     list_sort(list(m)) AS ms, count(*) AS n FROM m),
        c AS (SELECT [rs[ceil(k * n / 5)::BIGINT] FOR k IN [1, 2, 3, 4]] AS rc,
                     [fs[ceil(k * n / 5)::BIGINT] FOR k IN [1, 2, 3, 4]] AS fc,
                     [ms[ceil(k * n / 5)::BIGINT] FOR k IN [1, 2, 3, 4]] AS mc FROM s),
        scored AS (
            SELECT 1 + (r > rc[1])::INT + (r > rc[2])::INT + (r > rc[3])::INT + (r > rc[4])::INT AS R,
                   1 + (f > fc[1])::INT + (f > fc[2])::INT + (f > fc[3])::INT + (f > fc[4])::INT AS F,
                   1 + (m > mc[1])::INT + (m > mc[2])::INT + (m > mc[3])::INT + (m > mc[4])::INT AS M
            FROM m, c
        )
        SELECT g.segment, count(*) FROM scored
        JOIN segment_grid g ON g.r = scored.R AND g.fm = (scored.F + scored.M) // 2
        GROUP BY g.segment
        """
    ).fetchall()


def duckdb_pyramid(con, start, as_of):
    return con.execute(
        f"""
        WITH rev AS (
            SELECT sum(amount_minor) AS v FROM orders
            WHERE day > {start} AND day <= {as_of} GROUP BY customer_id
        ),
        ranked AS (
            SELECT row_number() OVER (ORDER BY v DESC) AS rn,
                   sum(v) OVER (ORDER BY v DESC ROWS UNBOUNDED PRECEDING) AS cum,
                   count(*) OVER () AS n
            FROM rev
        )
        SELECT rn, cum, n FROM ranked
        WHERE rn = ceil(0.1 * n) OR rn = ceil(0.4 * n) OR rn = n
           OR rn IN (SELECT greatest(round(i * n / 100), 1) FROM range(1, 101) t(i), (SELECT count(*) AS n FROM rev))
        """
    ).fetchall()


def run_bench(args):
    OUT.mkdir(parents=True, exist_ok=True)
    orders = OUT / "orders.csv"
    summary = OUT / "clv_summary.csv"
    report = OUT / "kehu_report.json"
    cmd = [
        "cargo", "bench", "-q", "-p", "kehu-analytics", "--bench", "analytics", "--",
        "--customers", str(args.customers), "--orders", str(args.orders),
        "--orders-out", str(orders), "--summary-out", str(summary), "--report", str(report),
    ]
    print("$ " + " ".join(cmd), file=sys.stderr)
    subprocess.run(cmd, check=True, cwd=ROOT)
    return orders, summary, json.loads(report.read_text())


def kehu_ms(report, step):
    for s in report["steps"]:
        if s["step"] == step:
            return s["best_ms"]
    raise KeyError(step)


def compare_orders(label, orders_csv, as_of, grid, kehu_rfm, kehu_pyramid, results):
    import duckdb
    import numpy as np
    import pandas as pd
    import polars as pl

    start = as_of - 365
    o_pd = pd.read_csv(orders_csv, dtype={"customer_id": "int64", "day": "int64", "amount_minor": "int64"})
    o_pl = pl.read_csv(orders_csv, schema_overrides={"cost_minor": pl.Int64})
    con = duckdb.connect()
    con.execute(f"CREATE TABLE orders AS SELECT * FROM read_csv_auto('{orders_csv}')")
    con.execute("CREATE TABLE segment_grid (r INT, fm INT, segment VARCHAR)")
    con.executemany(
        "INSERT INTO segment_grid VALUES (?, ?, ?)",
        [(r + 1, fm + 1, grid[r * 5 + fm]) for r in range(5) for fm in range(5)],
    )
    grid_np = np.array(grid)
    rows = []
    for step, kehu, peers in [
        (
            "RFM with segments",
            kehu_rfm,
            {
                "pandas": lambda: pandas_rfm(pd, np, o_pd, start, as_of, grid_np),
                "polars": lambda: polars_rfm(pl, o_pl, start, as_of, grid),
                "DuckDB": lambda: duckdb_rfm(con, start, as_of),
            },
        ),
        (
            "pyramid + Pareto curve",
            kehu_pyramid,
            {
                "pandas": lambda: pandas_pyramid(np, o_pd, start, as_of),
                "polars": lambda: polars_pyramid(pl, o_pl, start, as_of),
                "DuckDB": lambda: duckdb_pyramid(con, start, as_of),
            },
        ),
    ]:
        times = {name: best_of(f)[0] for name, f in peers.items()}
        best_peer = min(times, key=times.get)
        rows.append(
            {
                "data": label,
                "step": step,
                "kehu_ms": kehu,
                **{f"{k}_ms": v for k, v in times.items()},
                "ratio_to_polars": kehu / times["polars"],
                "ratio_to_best_peer": kehu / times[best_peer],
                "best_peer": best_peer,
            }
        )
    results["orders"].extend(rows)


def compare_fits(label, summary_csv, kehu_bg, kehu_gg, kehu_ms_total, results):
    import pandas as pd
    from lifetimes import BetaGeoFitter, GammaGammaFitter

    data = pd.read_csv(summary_csv)
    x, t_x, age = data.iloc[:, 1], data.iloc[:, 2], data.iloc[:, 3]
    zbar = data.iloc[:, 4]
    t = time.perf_counter()
    bgf = BetaGeoFitter(penalizer_coef=0.0).fit(x, t_x, age)
    bg_s = time.perf_counter() - t
    # Gamma-Gamma on repeat customers with a positive mean repeat spend, as
    # Kehu fits it (lifetimes refuses non-positive values).
    repeat = data[(x > 0) & (zbar > 0)]
    t = time.perf_counter()
    ggf = GammaGammaFitter(penalizer_coef=0.0).fit(repeat.iloc[:, 1], repeat.iloc[:, 4])
    gg_s = time.perf_counter() - t
    theirs = {
        "r": bgf.params_["r"], "alpha": bgf.params_["alpha"], "a": bgf.params_["a"], "b": bgf.params_["b"],
        "p": ggf.params_["p"], "q": ggf.params_["q"], "gamma": ggf.params_["v"],
    }
    ours = {**kehu_bg, **kehu_gg}
    rel = {k: abs(ours[k] - v) / abs(v) for k, v in theirs.items()}
    results["fits"].append(
        {
            "data": label,
            "customers": int(len(data)),
            "repeat_customers": int(len(repeat)),
            "kehu_ms": kehu_ms_total,
            "lifetimes_bg_nbd_ms": bg_s * 1e3,
            "lifetimes_gamma_gamma_ms": gg_s * 1e3,
            "speedup": (bg_s + gg_s) * 1e3 / kehu_ms_total,
            "max_relative_parameter_difference": max(rel.values()),
            "relative_difference": rel,
        }
    )


def cdnow_orders_csv():
    path = OUT / "cdnow_orders.csv"
    epoch = 719163  # days from 0001-01-01 to 1970-01-01 (proleptic Gregorian)
    import datetime

    with open(FIXTURES / "cdnow_sample_transactions.txt") as src, open(path, "w") as dst:
        dst.write("customer_id,day,amount_minor,cost_minor\n")
        for line in src:
            f = line.split()
            if len(f) < 5:
                continue
            d = datetime.date(int(f[2][:4]), int(f[2][4:6]), int(f[2][6:]))
            dst.write(f"{int(f[1])},{d.toordinal() - epoch},{round(float(f[4]) * 100)},\n")
    return path


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--orders", type=int, default=10_000_000)
    args = parser.parse_args()
    ensure_venv()
    import duckdb
    import lifetimes
    import numpy
    import pandas
    import polars

    orders_csv, summary_csv, report = run_bench(args)
    grid = [g for row in report["segment_grid"] for g in row]
    results = {
        "versions": {
            "python": sys.version.split()[0], "pandas": pandas.__version__, "polars": polars.__version__,
            "duckdb": duckdb.__version__, "numpy": numpy.__version__, "lifetimes": lifetimes.__version__,
        },
        "kehu": {k: report[k] for k in ("customers", "orders", "threads")},
        "orders": [],
        "fits": [],
    }
    epoch = __import__("datetime").date(1970, 1, 1)
    as_of = (__import__("datetime").date.fromisoformat(report["as_of"]) - epoch).days
    compare_orders(
        f"generated, {args.orders:,} orders",
        orders_csv, as_of, grid,
        kehu_ms(report, "RFM + segments (orders)"),
        kehu_ms(report, "pyramid + Pareto curve, revenue (orders)"),
        results,
    )
    cdnow_as_of = (__import__("datetime").date(1998, 6, 30) - epoch).days
    compare_orders(
        "CDNOW sample, 6,919 orders",
        cdnow_orders_csv(), cdnow_as_of, grid,
        kehu_ms(report, "CDNOW: RFM + segments (orders)"),
        kehu_ms(report, "CDNOW: pyramid + Pareto curve (orders)"),
        results,
    )
    compare_fits(
        f"generated, {report['bg_nbd']['customers']:,} customers",
        summary_csv,
        report["bg_nbd"]["params"], report["gamma_gamma"]["params"],
        kehu_ms(report, "BG/NBD fit") + kehu_ms(report, "Gamma-Gamma fit"),
        results,
    )
    compare_fits(
        "CDNOW, 2,357 customers",
        FIXTURES / "cdnow_summary.csv",
        report["cdnow"]["bg_nbd"], report["cdnow"]["gamma_gamma"],
        kehu_ms(report, "CDNOW: BG/NBD + Gamma-Gamma fit (2,357)"),
        results,
    )
    (OUT / "results.json").write_text(json.dumps(results, indent=2))

    def ms(v):
        return f"{v:.1f}" if v >= 10 else f"{v:.3f}"

    print("| data | step | kehu ms | pandas ms | polars ms | DuckDB ms | kehu / polars | kehu / best peer |")
    print("|---|---|---:|---:|---:|---:|---:|---:|")
    for r in results["orders"]:
        print(
            f"| {r['data']} | {r['step']} | {ms(r['kehu_ms'])} | {ms(r['pandas_ms'])} | {ms(r['polars_ms'])} "
            f"| {ms(r['DuckDB_ms'])} | {r['ratio_to_polars']:.3f} | {r['ratio_to_best_peer']:.3f} ({r['best_peer']}) |"
        )
    print()
    print("| data | kehu BG/NBD + Gamma-Gamma ms | lifetimes BG/NBD ms | lifetimes Gamma-Gamma ms | speed-up | max relative parameter difference |")
    print("|---|---:|---:|---:|---:|---:|")
    for r in results["fits"]:
        print(
            f"| {r['data']} | {ms(r['kehu_ms'])} | {ms(r['lifetimes_bg_nbd_ms'])} | {ms(r['lifetimes_gamma_gamma_ms'])} "
            f"| {r['speedup']:.1f}x | {r['max_relative_parameter_difference']:.2e} |"
        )
    print(f"\nversions: {results['versions']}")


if __name__ == "__main__":
    main()
