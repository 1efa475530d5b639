"""Generate the bundled SYNTHETIC sample market and books (python/riskoffset/data/sample_market.csv and
python/riskoffset/data/books/*.csv).  Nothing here is market data: every number follows from the model below,
so the files can be regenerated exactly (`python tools/make_sample_market.py`).

Listing (shaped like Deribit's at a Wednesday 08:00 UTC, 2026-11-25): BTC and ETH inverse options on 12 expiries
(dailies 26-28 Nov, weeklies 4/11/18 Dec, monthlies 25 Dec, 29 Jan, 26 Feb, quarterlies 26 Mar, 25 Jun, 24 Sep),
inverse futures on 27 Nov, 4 Dec and the monthly/quarterly dates, inverse perpetuals, linear USDC perpetuals,
USDC spot, and linear USDC options on 25 Dec and 26 Mar.  Every expiry is at 08:00 UTC.  Expiries without a
future (26 and 28 Nov, 11 and 18 Dec, 26 Feb) get their forward from riskoffset's documented interpolation.

Model:
    index:   BTC 95,000 USD, ETH 3,400 USD
    forward: F(t) = S exp(b t), annualised basis b = 6 % (BTC), 5.5 % (ETH); futures marks are F rounded to the
             tick (0.5 / 0.05 USD); perpetuals mark at S (1 + 1e-4)
    smile:   sigma(k, t) = atm(t) + skew(t) k + curvature(t) k^2,  k = ln(K / F),  s(t) = sqrt(max(t, 1/365) / 0.25)
             atm(t) = a0 + a1 exp(-t / 0.08)        BTC a0 = 0.50, a1 = 0.12; ETH a0 = 0.62, a1 = 0.15
             skew(t) = -c / s(t)                      BTC c = 0.10, ETH c = 0.12
             curvature(t) = 0.35 / s(t)
             rounded to 0.0001 (0.01 vol point, as Deribit displays); floored at 0.15
    marks:   Black-76 on F with r = 0 (math.erfc here, independent of riskoffset's kernels): inverse options in
             coin (USD price / F), linear options in USDC; 8 decimals.
Strikes: a step and a range of moneyness per expiry bucket (see STRIKES), calls and puts at every strike.
Books: fixed positions (covered calls, calendar spread, short strangle, linear + inverse) and a market maker
(accounts mm-btc, mm-eth, mm-hedge) of 200 options per underlying with |delta| in (0.05, 0.95) and sizes of
-60..60 lots drawn from numpy's default_rng(20261125), delta-hedged with perpetuals.
"""

from __future__ import annotations

import csv
import math
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

VALUATION = datetime(2026, 11, 25, 8, 0, tzinfo=timezone.utc)
INDEX = {"BTC": 95_000.0, "ETH": 3_400.0}
BASIS = {"BTC": 0.06, "ETH": 0.055}
ATM = {"BTC": (0.50, 0.12), "ETH": (0.62, 0.15)}
SKEW = {"BTC": 0.10, "ETH": 0.12}
FUTURE_TICK = {"BTC": 0.5, "ETH": 0.05}
FUTURE_SIZE = {"BTC": 10.0, "ETH": 1.0}
OPTION_EXPIRIES = [
    ("2026-11-26", "daily"),
    ("2026-11-27", "daily"),
    ("2026-11-28", "daily"),
    ("2026-12-04", "weekly"),
    ("2026-12-11", "weekly"),
    ("2026-12-18", "weekly"),
    ("2026-12-25", "monthly"),
    ("2027-01-29", "monthly"),
    ("2027-02-26", "monthly"),
    ("2027-03-26", "quarterly"),
    ("2027-06-25", "quarterly"),
    ("2027-09-24", "quarterly"),
]
FUTURE_EXPIRIES = [
    "2026-11-27",
    "2026-12-04",
    "2026-12-25",
    "2027-01-29",
    "2027-03-26",
    "2027-06-25",
    "2027-09-24",
]
LINEAR_OPTION_EXPIRIES = ["2026-12-25", "2027-03-26"]
# bucket -> (BTC strike step, ETH strike step, lowest K/F, highest K/F)
STRIKES = {
    "daily": (500.0, 25.0, 0.94, 1.06),
    "weekly": (1000.0, 50.0, 0.85, 1.15),
    "monthly": (5000.0, 100.0, 0.50, 2.00),
    "quarterly": (10000.0, 200.0, 0.30, 3.00),
}
LINEAR_STRIKE = {"BTC": (5000.0, 0.7, 1.4), "ETH": (200.0, 0.7, 1.4)}
MONTHS = ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"]
ROOT = Path(__file__).resolve().parents[1] / "python" / "riskoffset" / "data"


def expiry_time(date: str) -> datetime:
    return datetime.fromisoformat(date).replace(hour=8, tzinfo=timezone.utc)


def years(expiry: datetime) -> float:
    return (expiry - VALUATION).total_seconds() / (365 * 86400)


def code(expiry: datetime) -> str:
    return f"{expiry.day}{MONTHS[expiry.month - 1]}{expiry.year % 100:02d}"


def forward(base: str, t: float) -> float:
    return INDEX[base] * math.exp(BASIS[base] * t)


def future_mark(base: str, t: float) -> float:
    tick = FUTURE_TICK[base]
    return round(forward(base, t) / tick) * tick


def smile(base: str, k: float, t: float) -> float:
    s = math.sqrt(max(t, 1 / 365) / 0.25)
    a0, a1 = ATM[base]
    sigma = a0 + a1 * math.exp(-t / 0.08) - SKEW[base] / s * k + 0.35 / s * k * k
    return max(round(sigma, 4), 0.15)


def ncdf(x: float) -> float:
    return 0.5 * math.erfc(-x / math.sqrt(2.0))


def black76(is_call: bool, f: float, k: float, t: float, sigma: float) -> tuple[float, float]:
    """(USD price, delta) with r = 0."""
    s = sigma * math.sqrt(t)
    d1 = math.log(f / k) / s + s / 2
    d2 = d1 - s
    if is_call:
        return f * ncdf(d1) - k * ncdf(d2), ncdf(d1)
    return k * ncdf(-d2) - f * ncdf(-d1), ncdf(d1) - 1.0


def strike_grid(step: float, low: float, high: float, f: float) -> list[float]:
    first = max(step, math.ceil(f * low / step) * step)
    last = math.floor(f * high / step) * step
    return [first + i * step for i in range(round((last - first) / step) + 1)]


def strike_text(k: float) -> str:
    return str(int(k)) if k == int(k) else repr(k).replace(".", "d")


def option_forward(base: str, t: float) -> float:
    """The forward riskoffset will resolve: the future's mark where one is listed, else the model's
    log-linear interpolation, which for a flat basis is F(t) up to the futures' tick rounding."""
    return forward(base, t)


def build_market() -> tuple[list[dict[str, object]], dict[str, dict[str, object]]]:
    rows: list[dict[str, object]] = []
    info: dict[str, dict[str, object]] = {}

    def add(row: dict[str, object]) -> None:
        rows.append(row)
        info[str(row["instrument_name"])] = row

    for base in ("BTC", "ETH"):
        size, tick = FUTURE_SIZE[base], FUTURE_TICK[base]
        add(
            {"instrument_name": f"{base}-PERPETUAL", "kind": "perpetual", "contract_size": size, "tick_size": tick,
                 "min_trade_amount": size, "maker_commission": 0.0, "taker_commission": 0.0005,
                 "mark_price": round(INDEX[base] * 1.0001 / tick) * tick}
        )  # fmt: skip
        add(
            {"instrument_name": f"{base}_USDC-PERPETUAL", "kind": "perpetual", "contract_size": 0.001 if base == "BTC" else 0.01,
                 "tick_size": tick * 2, "min_trade_amount": 0.001 if base == "BTC" else 0.01, "maker_commission": 0.0,
                 "taker_commission": 0.0005, "mark_price": round(INDEX[base] * 1.00012 / tick) * tick}
        )  # fmt: skip
        add(
            {"instrument_name": f"{base}_USDC", "kind": "spot", "contract_size": 0.0001, "tick_size": 1.0 if base == "BTC" else 0.1,
                 "min_trade_amount": 0.0001, "maker_commission": 0.0, "taker_commission": 0.0}
        )  # fmt: skip
        futures = {}
        for date in FUTURE_EXPIRIES:
            e = expiry_time(date)
            mark = future_mark(base, years(e))
            futures[date] = mark
            add(
                {"instrument_name": f"{base}-{code(e)}", "kind": "future", "contract_size": size, "tick_size": tick,
                     "min_trade_amount": size, "maker_commission": -0.0001, "taker_commission": 0.0005, "mark_price": mark}
            )  # fmt: skip
        for date, bucket in OPTION_EXPIRIES:
            e = expiry_time(date)
            t = years(e)
            f = futures.get(date, option_forward(base, t))
            btc_step, eth_step, low, high = STRIKES[bucket]
            step = btc_step if base == "BTC" else eth_step
            for k in strike_grid(step, low, high, f):
                sigma = smile(base, math.log(k / f), t)
                for letter in ("C", "P"):
                    usd, _ = black76(letter == "C", f, k, t, sigma)
                    add(
                        {"instrument_name": f"{base}-{code(e)}-{strike_text(k)}-{letter}", "kind": "option",
                             "contract_size": 1.0, "tick_size": 0.0001 if base == "BTC" else 0.0005, "min_trade_amount": 0.1 if base == "BTC" else 1.0,
                             "maker_commission": 0.0003, "taker_commission": 0.0003, "mark_price": round(usd / f, 8), "mark_iv": sigma}
                    )  # fmt: skip
        for date in LINEAR_OPTION_EXPIRIES:
            e = expiry_time(date)
            t = years(e)
            f = futures[date]
            step, low, high = LINEAR_STRIKE[base]
            for k in strike_grid(step, low, high, f):
                sigma = smile(base, math.log(k / f), t)
                for letter in ("C", "P"):
                    usd, _ = black76(letter == "C", f, k, t, sigma)
                    add(
                        {"instrument_name": f"{base}_USDC-{code(e)}-{strike_text(k)}-{letter}", "kind": "option",
                             "contract_size": 1.0, "tick_size": 5.0 if base == "BTC" else 0.1,
                             "min_trade_amount": 0.01 if base == "BTC" else 0.1, "maker_commission": 0.0003,
                             "taker_commission": 0.0003, "mark_price": round(usd, 4), "mark_iv": sigma}
                    )  # fmt: skip
    return rows, info


def option_delta(info: dict[str, dict[str, object]], name: str) -> float:
    base, date_code, strike, letter = name.split("-")
    base = base.split("_")[0]
    e = next(expiry_time(d) for d, _ in OPTION_EXPIRIES if code(expiry_time(d)) == date_code)
    t = years(e)
    f = forward(base, t)
    for d in FUTURE_EXPIRIES:
        if code(expiry_time(d)) == date_code:
            f = future_mark(base, t)
    k = float(strike.replace("d", "."))
    return black76(letter == "C", f, k, t, float(info[name]["mark_iv"]))[1]  # type: ignore[arg-type]


def build_books(info: dict[str, dict[str, object]]) -> dict[str, list[tuple[str, str, float]]]:
    books: dict[str, list[tuple[str, str, float]]] = {}
    books["covered_calls"] = [
        ("covered", "BTC_USDC", 10.0),
        ("covered", "BTC-25DEC26-110000-C", -10.0),
        ("covered", "ETH_USDC", 100.0),
        ("covered", "ETH-25DEC26-4000-C", -100.0),
    ]
    books["calendar_spread"] = [
        ("calendar", "BTC-18DEC26-95000-C", -5.0),  # no future on 18 Dec: interpolated forward
        ("calendar", "BTC-26MAR27-90000-C", 5.0),
    ]
    books["short_strangle"] = [
        ("strangle", "BTC-25DEC26-80000-P", -10.0),
        ("strangle", "BTC-25DEC26-110000-C", -10.0),
        ("strangle", "ETH-29JAN27-2800-P", -50.0),
        ("strangle", "ETH-29JAN27-4200-C", -50.0),
    ]
    books["linear_inverse"] = [
        ("inverse", "BTC-25DEC26-100000-C", 3.0),
        ("inverse", "BTC-PERPETUAL", -150_000.0),
        ("linear", "BTC_USDC-25DEC26-105000-C", -2.0),
        ("linear", "BTC_USDC-PERPETUAL", 1.5),
        ("linear", "ETH_USDC-26MAR27-3400-P", 20.0),
        ("linear", "ETH_USDC-PERPETUAL", 8.0),
    ]
    rng = np.random.default_rng(20261125)
    options = [n for n, r in info.items() if r["kind"] == "option" and "_USDC" not in n]
    mm: list[tuple[str, str, float]] = []
    hedge = {"BTC": 0.0, "ETH": 0.0}
    for account, base in (("mm-btc", "BTC"), ("mm-eth", "ETH")):
        pool = [n for n in options if n.startswith(base + "-")]
        # A market maker's inventory sits where the flow is: options with |delta| in (0.05, 0.95).
        weights = np.array([1.0 if 0.05 < abs(option_delta(info, n)) < 0.95 else 0.0 for n in pool])
        chosen = rng.choice(len(pool), size=200, replace=False, p=weights / weights.sum())
        lot = 0.1 if base == "BTC" else 1.0
        for i in sorted(chosen.tolist()):
            name = pool[i]
            size = float(rng.integers(-60, 61) or 1) * lot
            mm.append((account, name, round(size, 8)))
            hedge[base] += size * option_delta(info, name)
    for base in ("BTC", "ETH"):
        usd = -hedge[base] * INDEX[base]
        size = FUTURE_SIZE[base]
        mm.append(("mm-hedge", f"{base}-PERPETUAL", round(usd / size) * size))
    books["market_maker"] = mm
    return books


def main() -> None:
    rows, info = build_market()
    ROOT.mkdir(parents=True, exist_ok=True)
    columns = ["instrument_name", "kind", "contract_size", "tick_size", "min_trade_amount", "maker_commission",
               "taker_commission", "mark_price", "mark_iv"]  # fmt: skip
    path = ROOT / "sample_market.csv"
    with path.open("w", newline="") as f:
        f.write("# SYNTHETIC sample market generated by riskoffset's sample generator, see the README's sample data (not market data)\n")
        f.write(
            f"# valuation_time={VALUATION.isoformat().replace('+00:00', 'Z')} "
            + " ".join(f"index.{k}={v}" for k, v in INDEX.items())
            + "\n# description=SYNTHETIC sample (riskoffset's sample generator, see the README's sample data; not market data)\n"
        )
        writer = csv.DictWriter(f, fieldnames=columns, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    print(f"wrote {len(rows)} instruments to {path}")
    books_dir = ROOT / "books"
    books_dir.mkdir(exist_ok=True)
    for name, positions in build_books(info).items():
        for _, instrument, _ in positions:
            assert instrument in info, instrument
        book_path = books_dir / f"{name}.csv"
        with book_path.open("w", newline="") as f:
            f.write(
                f"# SYNTHETIC sample book {name!r} generated by riskoffset's sample generator, see the README's sample data (not real positions)\n"
            )
            f.write(
                "# quantity in Deribit size units: USD face for inverse futures and perpetuals, coin otherwise\n"
            )
            writer = csv.writer(f, lineterminator="\n")
            writer.writerow(["account", "instrument", "quantity"])
            writer.writerows((a, i, f"{q:g}") for a, i, q in positions)
        print(f"wrote {len(positions)} positions to {book_path}")


if __name__ == "__main__":
    main()
