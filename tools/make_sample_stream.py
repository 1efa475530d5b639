"""Generate the bundled SYNTHETIC notification stream python/riskoffset/data/streams/sample.jsonl: one day of
Deribit-shaped subscription notifications on the bundled sample market (`ro.Market.sample()`), for the live
margin engine.  Nothing here is market data; the file is regenerated exactly by
`python tools/make_sample_stream.py`.  tests/test_live_stream.py checks the crash: replayed onto the sample
market, it puts accounts of the sample books below their margins under deribit-pm.

Time: 24 h from the sample market's valuation time, 2026-11-25 08:00 UTC.  Draws: numpy default_rng(20261126).

Model (per coin, BTC and ETH):
    index:   S(t) = S0 exp(w(t)) c(t), w a random walk of one step a minute with daily vol 3 % (BTC), 4 % (ETH);
             c(t) the crash leg: 1 until 14:00 UTC, log-linear down to 0.75 (BTC) / 0.70 (ETH) at 15:00, then
             log-linear back up to 0.85 / 0.80 at 18:00 and flat after (a partial recovery)
    vol:     every option's mark IV = IV0 v(t) (+ noise of 0.2 vol points for the ticker channel), IV0 the sample
             market's; v(t) = 1 before the crash, up to 1.4 at the trough in proportion to the fall in log c,
             and 1 + 0.5 (v_trough - 1) after 18:00
    forward: F(t, T) = S(t) exp(b (T - t)) with the sample market's basis b (tools/make_sample_market.py);
             futures marks are F rounded to the tick, perpetuals S (1 + 1e-4)
    marks:   options Black-76 on F with r = 0 (tools/make_sample_market.py's black76), in coin for inverse
             options, USDC for linear ones

Messages, in time order:
    deribit_price_index.btc_usd / eth_usd    every 60 s
    ticker.{future or perpetual}.100ms        every 15 min, every 5 min from 13:45 to 16:00 UTC
    ticker.{option}.100ms                     at the same times, for OPTIONS (mark_iv in percent, as Deribit
                                              sends it; underlying_price the forward the futures' marks give,
                                              so that forwards and futures marks always agree)
    user.trades.option.BTC.raw (mm-btc)       TRADES: a few option fills 0.001 BTC through the last ticker's
                                              mark, taker fee 0.03 % of the underlying capped at 12.5 % of
                                              the premium
    user.trades.future.BTC.raw (mm-hedge)     perpetual fills 1 USD through the mark (the short hedge cut
                                              during the fall), taker fee 0.05 % of the USD face
    user.portfolio.btc (mm-btc, mm-hedge)     at 12:00 and 20:00 UTC: the sample balances plus option premia
                                              received minus paid, minus fees (Deribit credits an option's
                                              premium to the balance at the trade; futures P&L is left out)
The account of a user.* message is its top-level "account" field.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import make_sample_market as base_model
import riskoffset as ro
from riskoffset.instruments import Instrument

OUT = Path(__file__).resolve().parents[1] / "python" / "riskoffset" / "data" / "streams" / "sample.jsonl"
SEED = 20261126
START = base_model.VALUATION
MINUTES = 24 * 60
DAILY_VOL = {"BTC": 0.03, "ETH": 0.04}
CRASH_START, CRASH_END, RECOVERED = 6 * 60, 7 * 60, 10 * 60  # minutes from 08:00 UTC: 14:00, 15:00, 18:00
TROUGH = {"BTC": 0.75, "ETH": 0.70}
RECOVERY = {"BTC": 0.85, "ETH": 0.80}
VOL_AT_TROUGH = 1.4
FAST = (5 * 60 + 45, 8 * 60)  # 13:45 to 16:00 UTC: tickers every 5 min
TICKERS_EVERY = 15  # minutes, outside FAST
FUTURES = [
    f"{base}-{code}"
    for base in ("BTC", "ETH")
    for code in ("PERPETUAL", "27NOV26", "4DEC26", "25DEC26", "29JAN27", "26MAR27", "25JUN27", "24SEP27")
] + ["BTC_USDC-PERPETUAL", "ETH_USDC-PERPETUAL"]
# Options of the sample books (linear_inverse, short_strangle, market_maker) whose marks the stream moves.
OPTIONS = [
    "BTC-25DEC26-100000-C",
    "BTC-25DEC26-80000-P",
    "BTC-25DEC26-110000-C",
    "BTC-27NOV26-93000-P",
    "BTC-4DEC26-90000-P",
    "BTC_USDC-25DEC26-105000-C",
    "ETH-29JAN27-2800-P",
    "ETH-29JAN27-4200-C",
]
# (minute, account, instrument, direction, amount): mm-btc trades options, mm-hedge cuts its short perpetual
# as BTC falls (buying back USD face) and adds to it in the recovery.
TRADES = [
    (95, "mm-btc", "BTC-4DEC26-90000-P", "buy", 2.0),
    (210, "mm-btc", "BTC-25DEC26-100000-C", "sell", 1.5),
    (375, "mm-hedge", "BTC-PERPETUAL", "buy", 300_000.0),
    (392, "mm-btc", "BTC-27NOV26-93000-P", "sell", 1.0),
    (405, "mm-hedge", "BTC-PERPETUAL", "buy", 500_000.0),
    (418, "mm-btc", "BTC-4DEC26-90000-P", "buy", 3.0),
    (430, "mm-hedge", "BTC-PERPETUAL", "buy", 400_000.0),
    (520, "mm-hedge", "BTC-PERPETUAL", "sell", 250_000.0),
    (700, "mm-btc", "BTC-25DEC26-80000-P", "buy", 1.2),
]
PORTFOLIO_MINUTES = (4 * 60, 12 * 60)  # 12:00 and 20:00 UTC


def _ms(minute: float) -> int:
    return round((START + timedelta(minutes=minute)).timestamp() * 1000)


def crash_factor(base: str, minute: float) -> float:
    """c(t) of the module doc."""
    low, end = math.log(TROUGH[base]), math.log(RECOVERY[base])
    if minute <= CRASH_START:
        return 1.0
    if minute <= CRASH_END:
        return math.exp(low * (minute - CRASH_START) / (CRASH_END - CRASH_START))
    if minute <= RECOVERED:
        return math.exp(low + (end - low) * (minute - CRASH_END) / (RECOVERED - CRASH_END))
    return math.exp(end)


def vol_factor(base: str, minute: float) -> float:
    """v(t) of the module doc."""
    fall = math.log(crash_factor(base, minute)) / math.log(TROUGH[base])  # 0 before, 1 at the trough
    if minute <= RECOVERED:
        return 1.0 + (VOL_AT_TROUGH - 1.0) * fall
    return 1.0 + 0.5 * (VOL_AT_TROUGH - 1.0)


def index_paths(rng: np.random.Generator) -> dict[str, np.ndarray]:
    """S(t) at every minute 0..MINUTES, per coin, rounded to 0.01 USD."""
    paths = {}
    for base in ("BTC", "ETH"):
        steps = rng.normal(0.0, DAILY_VOL[base] / math.sqrt(MINUTES), MINUTES)
        walk = np.concatenate([[0.0], np.cumsum(steps)])
        crash = np.array([crash_factor(base, m) for m in range(MINUTES + 1)])
        paths[base] = np.round(base_model.INDEX[base] * np.exp(walk) * crash, 2)
    return paths


def _years(expiry: datetime, minute: float) -> float:
    return ((expiry - START).total_seconds() - 60.0 * minute) / (365 * 86400)


def _forward(base: str, spot: float, expiry: datetime, minute: float) -> float:
    return spot * math.exp(base_model.BASIS[base] * _years(expiry, minute))


def _future_mark(inst: Instrument, spot: float, minute: float) -> float:
    if inst.kind == "perpetual":
        return round(spot * (1 + 1e-4), 2)
    assert inst.expiry is not None
    tick = base_model.FUTURE_TICK[inst.base]
    return round(_forward(inst.base, spot, inst.expiry, minute) / tick) * tick


def _option_quote(inst: Instrument, spot: float, iv: float, minute: float) -> tuple[float, float]:
    """(forward, mark price as Deribit quotes it) of an option."""
    assert inst.expiry is not None and inst.strike is not None
    f = _forward(inst.base, spot, inst.expiry, minute)
    usd, _ = base_model.black76(inst.option_type == "call", f, inst.strike, _years(inst.expiry, minute), iv)
    return f, round(
        usd / f if inst.settlement == "inverse" else usd, 8 if inst.settlement == "inverse" else 2
    )


def _note(channel: str, data: Any, account: str | None = None) -> dict[str, Any]:
    message: dict[str, Any] = {"jsonrpc": "2.0", "method": "subscription"}
    if account is not None:
        message["account"] = account
    message["params"] = {"channel": channel, "data": data}
    return message


def build_stream() -> list[str]:
    """The file's lines (without newlines): comment header, then one JSON notification per line."""
    rng = np.random.default_rng(SEED)
    market = ro.Market.sample()
    spot = index_paths(rng)
    fast = set(range(FAST[0], FAST[1] + 1, 5))
    ticker_minutes = sorted(set(range(0, MINUTES + 1, TICKERS_EVERY)) | fast)
    timed: list[tuple[int, int, dict[str, Any]]] = []  # (minute, order within the minute, message)

    for base in ("BTC", "ETH"):
        name = f"{base.lower()}_usd"
        for m in range(MINUTES + 1):
            data = {"index_name": name, "price": float(spot[base][m]), "timestamp": _ms(m)}
            timed.append((m, 0, _note(f"deribit_price_index.{name}", data)))

    options = {name: Instrument.parse(name) for name in OPTIONS}
    futures = {name: Instrument.parse(name) for name in FUTURES}
    iv_noise = rng.normal(0.0, 0.002, (len(ticker_minutes), len(OPTIONS)))
    marks: dict[tuple[int, str], float] = {}  # the latest option mark at each ticker minute, for the trades
    for i, m in enumerate(ticker_minutes):
        for name, inst in futures.items():
            s = float(spot[inst.base][m])
            data = {
                "instrument_name": name,
                "timestamp": _ms(m),
                "mark_price": _future_mark(inst, s, m),
                "index_price": s,
            }
            timed.append((m, 1, _note(f"ticker.{name}.100ms", data)))
        for j, (name, inst) in enumerate(options.items()):
            s = float(spot[inst.base][m])
            iv = round(market.mark_iv[name] * vol_factor(inst.base, m) + float(iv_noise[i, j]), 4)
            f, mark = _option_quote(inst, s, iv, m)
            expiry = name.rsplit("-", 2)[0]
            marks[(m, name)] = mark
            data = {
                "instrument_name": name,
                "timestamp": _ms(m),
                "mark_price": mark,
                "mark_iv": round(iv * 100, 2),
                "underlying_price": round(f, 2),
                "underlying_index": expiry if expiry in futures else f"SYN.{expiry}",
                "index_price": s,
            }
            timed.append((m, 2, _note(f"ticker.{name}.100ms", data)))

    cash: list[tuple[int, str, float]] = []  # (minute, account, BTC credited: premium received - paid - fee)
    for n, (m, account, name, direction, amount) in enumerate(TRADES):
        inst = Instrument.parse(name)
        s = float(spot["BTC"][m])
        sign = 1.0 if direction == "buy" else -1.0
        if inst.kind == "option":
            mark = marks[(max(t for t in ticker_minutes if t <= m), name)]
            price = round(mark + sign * 0.0010, 4)  # across a spread of 10 ticks of 0.0001 either side
            fee = round(min(0.0003 * amount, 0.125 * price * amount), 8)  # 0.03 % of the underlying, capped
            cash.append((m, account, -sign * price * amount - fee))
        else:
            mark = _future_mark(inst, s, m)
            price = mark + sign * 1.0  # 2 ticks of 0.5 USD
            fee = round(0.0005 * amount / price, 8)  # taker 0.05 % of the USD face, in BTC
            cash.append((m, account, -fee))
        trade = {
            "trade_seq": 1000 + n,
            "trade_id": f"SYN-{n + 1}",
            "timestamp": _ms(m) + 250,
            "tick_direction": 0 if direction == "buy" else 2,
            "state": "filled",
            "price": price,
            "order_type": "limit",
            "order_id": f"SYN-ORDER-{n + 1}",
            "mark_price": mark,
            "liquidity": "T",
            "instrument_name": name,
            "index_price": s,
            "fee_currency": "BTC",
            "fee": fee,
            "direction": direction,
            "amount": amount,
        }
        timed.append(
            (
                m,
                3,
                _note(
                    f"user.trades.{inst.kind if inst.kind == 'option' else 'future'}.BTC.raw",
                    [trade],
                    account,
                ),
            )
        )
    start = ro.Balances.sample("market_maker")
    for pm in PORTFOLIO_MINUTES:
        for acc in ("mm-btc", "mm-hedge"):
            balance = start.amount(acc, "BTC") + sum(x for m, a, x in cash if a == acc and m <= pm)
            timed.append(
                (pm, 4, _note("user.portfolio.btc", {"currency": "BTC", "balance": round(balance, 8)}, acc))
            )

    timed.sort(key=lambda x: (x[0], x[1]))
    header = [
        "# SYNTHETIC sample stream generated by riskoffset's sample generator, see docs/live-streams.md: not market data.",
        "# One day (2026-11-25 08:00 UTC + 24 h) of Deribit-shaped notifications on the sample market: index ticks,",
        "# futures and option tickers, a crash leg at 14:00-15:00 UTC (BTC -25 %, ETH -30 %) with a partial",
        "# recovery, and market_maker fills and balances (user.* messages carry a top-level account).",
    ]
    body = [json.dumps(msg, separators=(",", ":")) for _, _, msg in timed]
    return header + body


def main() -> None:
    argparse.ArgumentParser(description=__doc__.splitlines()[0]).parse_args()
    lines = build_stream()
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text("\n".join(lines) + "\n")
    print(f"wrote {OUT} ({len(lines)} lines, {OUT.stat().st_size:,} bytes)")


if __name__ == "__main__":
    main()
