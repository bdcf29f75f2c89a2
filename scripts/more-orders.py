#!/usr/bin/env python3
"""Writes a CSV of new orders for customers of a demo database, for
`kehu import --kind orders` (see BENCHMARKS.md).

    scripts/more-orders.py DB.sqlite OUT.csv --orders 10000 --on 2026-11-22
        one order dated that day, of 50-5,000 yuan, for each of that many
        distinct customers with an external id (the refresh benchmark)
    scripts/more-orders.py DB.sqlite OUT.csv --orders 900000 --like-history
        that many orders, each a completed order drawn at random from the
        database (so customers who buy more gain more; a refund stays a
        refund), moved by up to 20 days within the history and its amount
        scaled by 0.8-1.25: more of the same heavy-tailed repeat purchases

Customers are named by external id, or by name where the name is unique.
`kehu demo` gives the same data on both engines for the same seed, so the
file imports into either. Order numbers are --prefix, a dash and a count;
no order number in the database may start with that prefix and dash.
"""

import argparse
import csv
import datetime
import os
import random
import sqlite3


def yuan(cents):
    """Minor units as a decimal amount, "-12.05" for a refund."""
    sign = "-" if cents < 0 else ""
    cents = abs(cents)
    return f"{sign}{cents // 100}.{cents % 100:02d}"


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("db")
    p.add_argument("out")
    p.add_argument("--orders", type=int, required=True)
    p.add_argument("--on", help="date of every order (YYYY-MM-DD)")
    p.add_argument("--like-history", action="store_true")
    p.add_argument("--prefix", default="NEW")
    p.add_argument("--seed", type=int, default=1)
    a = p.parse_args()
    if bool(a.on) == a.like_history:
        p.error("give exactly one of --on and --like-history")
    if a.orders < 1:
        p.error("--orders must be at least 1")
    if not a.prefix.strip():
        p.error("--prefix must not be blank")
    rng = random.Random(a.seed)
    db = sqlite3.connect(f"file:{a.db}?mode=ro", uri=True)
    like = a.prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "-%"
    if db.execute(
            "SELECT 1 FROM orders WHERE external_id LIKE ? ESCAPE '\\' LIMIT 1", (like,)).fetchone():
        p.error(f"the database already has order numbers starting with {a.prefix}-")
    # Written aside and renamed when complete: a failed run leaves no file.
    part = a.out + ".part"
    try:
        write(a, p, db, rng, part)
    except BaseException:
        if os.path.exists(part):
            os.remove(part)
        raise
    os.replace(part, a.out)


def write(a, p, db, rng, path):
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["customer_external_id", "customer", "order_number", "order_date", "amount"])
        if a.on:
            ids = [r[0] for r in db.execute(
                "SELECT external_id FROM customers WHERE external_id IS NOT NULL ORDER BY id")]
            if len(ids) < a.orders:
                p.error(f"only {len(ids)} customers have an external id")
            for n, x in enumerate(rng.sample(ids, a.orders), 1):
                cents = rng.randint(5_000, 500_000)
                w.writerow([x, "", f"{a.prefix}-{n}", a.on, yuan(cents)])
            return
        unique = {r[0] for r in db.execute(
            "SELECT name FROM customers GROUP BY name HAVING COUNT(*) = 1")}
        first, last = db.execute(
            "SELECT MIN(order_date), MAX(order_date) FROM orders WHERE status = 'completed'"
        ).fetchone()
        if first is None:
            p.error("the database has no completed order to draw from")
        first = datetime.date.fromisoformat(first)
        last = datetime.date.fromisoformat(last)
        top = db.execute("SELECT MAX(id) FROM orders").fetchone()[0]
        n = 0
        while n < a.orders:
            before = n
            draw = sorted(rng.sample(range(1, top + 1), min(top, 2 * (a.orders - n) + 1000)))
            # The drawn ids go through a temporary table, joined.
            db.execute("CREATE TEMP TABLE IF NOT EXISTS draw (id INTEGER PRIMARY KEY)")
            db.execute("DELETE FROM draw")
            db.executemany("INSERT INTO draw VALUES (?)", ((i,) for i in draw))
            rows = db.execute(
                "SELECT c.external_id, c.name, o.order_date, o.amount "
                "FROM draw d JOIN orders o ON o.id = d.id "
                "JOIN customers c ON c.id = o.customer_id "
                "WHERE o.status = 'completed'").fetchall()
            rng.shuffle(rows)
            for external_id, name, day, amount in rows:
                if n == a.orders:
                    break
                if external_id is None and name not in unique:
                    continue
                day = datetime.date.fromisoformat(day) + datetime.timedelta(
                    days=rng.randint(-20, 20))
                day = min(max(day, first), last)
                cents = round(amount * rng.uniform(0.8, 1.25))
                if cents == 0:
                    continue
                n += 1
                w.writerow([
                    external_id or "",
                    "" if external_id else name,
                    f"{a.prefix}-{n}",
                    day.isoformat(),
                    yuan(cents),
                ])
            if n == before:
                p.error("no order drawn belongs to a customer the importer can name")


if __name__ == "__main__":
    main()
