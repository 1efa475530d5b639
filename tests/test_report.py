"""ro.report: the HTML risk report, checked without pixels: the page parsed with the standard library (every
chart drew data, every table has rows, nothing loads from outside), and the numbers in its tables compared
with independent references (Black-76 written out here, closed-form futures P&L, sums that must add up) and
with the library's own results where the report only displays them."""

from __future__ import annotations

import math
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import riskoffset as ro
from report_html import ParsedReport, parse, problems
from riskoffset.reporting import Report, cli_main

MARKET = ro.Market.sample()


def desk_market() -> ro.Market:
    """The sample data under another description: a market the report must not call synthetic."""
    m = MARKET
    return ro.Market(
        m.valuation_time,
        index=m.index,
        marks=m.marks,
        mark_iv=m.mark_iv,
        forwards=m.forwards,
        rate=m.rate,
        instruments=m.instruments,
        description="desk snapshot",
    )


def hand_book(positions: list[tuple[str, float]], account: str = "desk") -> ro.Book:
    return ro.Book.from_positions(
        [{"account": account, "instrument": n, "quantity": q} for n, q in positions],
        instruments=MARKET.instruments,
        name="hand",
    )


@pytest.fixture(scope="module")
def samples() -> dict[str, tuple[Report, ParsedReport]]:
    out = {}
    for name in ro.Book.samples():
        r = ro.report(ro.Book.sample(name), MARKET)
        out[name] = (r, parse(r.html))
    return out


def black76_call(f: float, k: float, sigma: float, t: float) -> float:
    """Undiscounted Black-76 call, with the normal CDF from math.erf."""
    if sigma * math.sqrt(t) == 0:
        return max(f - k, 0.0)
    sd = sigma * math.sqrt(t)
    d1 = (math.log(f / k) + 0.5 * sd * sd) / sd
    n = lambda x: 0.5 * (1.0 + math.erf(x / math.sqrt(2.0)))
    return f * n(d1) - k * n(d1 - sd)


# ------------------------------------------------------------------------------------ page structure
def test_every_sample_report_is_complete(samples: dict[str, tuple[Report, ParsedReport]]) -> None:
    for name, (report, parsed) in samples.items():
        assert problems(parsed) == [], name
        ids = set(parsed.charts)
        assert any(i.startswith("profile-") for i in ids), name
        assert any(i.startswith("matrix-") for i in ids), name
        assert "margins-chart" in ids and "greeks-expiry-delta_usd" in ids, name
        assert any(i.startswith("greeks-strike-") for i in ids), name
        assert any(i.startswith("drivers-") for i in ids), name
        assert "hedge-delta" in ids and "hedge-trades" in parsed.tables, name
        assert "SYNTHETIC" in parsed.banner and report.synthetic, name
        assert len(report.charts()) == len(parsed.charts)


def test_checker_fails_on_a_blank_or_broken_report(samples: dict[str, tuple[Report, ParsedReport]]) -> None:
    """The structure check is not vacuous: an empty page, a chart with its data removed, an emptied table
    and a script from a CDN are each reported."""
    html = samples["short_strangle"][0].html
    assert problems(parse("<html><body></body></html>")) == ["no charts", "no tables"]
    no_lines = html.replace('class="datum"', 'class="x"')
    assert any("drew nothing" in p for p in problems(parse(no_lines)))
    start = html.index("<tbody>", html.index('id="margins-data"'))
    emptied = html[:start] + "<tbody></tbody>" + html[html.index("</tbody>", start) + len("</tbody>") :]
    assert "table margins-data has no rows" in problems(parse(emptied))
    cdn = html.replace("</head>", '<script src="https://cdn.example/plot.js"></script></head>')
    assert len(problems(parse(cdn))) == 2


def test_not_synthetic_without_sample_data() -> None:
    book = hand_book([("BTC-PERPETUAL", 10_000.0)])
    r = ro.report(book, desk_market())
    assert not r.synthetic
    assert parse(r.html).banner == ""
    assert "SYNTHETIC DATA" not in r.html


def test_output_file_is_the_html(tmp_path: Path) -> None:
    out = tmp_path / "r.html"
    r = ro.report(ro.Book.sample("calendar_spread"), MARKET, output=out)
    assert r.path == out and out.read_text(encoding="utf-8") == r.html
    assert r.html.startswith("<!DOCTYPE html>") and r._repr_html_() == r.html


# ------------------------------------------------------------------------------------ numbers
def test_profile_of_a_perpetual_is_the_closed_form() -> None:
    """Long Q USD face of the inverse perpetual: coin P&L at a move m is Q (1/F - 1/(F (1 + m))) whatever
    the vol state; the price column is index x (1 + m)."""
    q = 50_000.0
    book = hand_book([("BTC-PERPETUAL", q)])
    t = parse(ro.report(book, desk_market()).html).table("profile-btc_btc-data")
    f = MARKET.marks["BTC-PERPETUAL"]
    moves = t.column("move")
    assert len(moves) >= 41 and min(moves) <= -0.5 and max(moves) >= 0.5  # type: ignore[type-var]
    for m, price, up, same, down in zip(
        moves, t.column("BTC (USD)"), t.column("vol up"), t.column("vol same"), t.column("vol down")
    ):
        assert m is not None and price is not None
        expected = q * (1.0 / f - 1.0 / (f * (1.0 + m)))
        for v in (up, same, down):
            assert v == pytest.approx(expected, rel=1e-9, abs=1e-12)
        assert price == pytest.approx(MARKET.index["BTC"] * (1.0 + m), rel=1e-12)


def test_profile_of_an_inverse_call_at_unchanged_vol_is_black76() -> None:
    """q inverse calls, vol state "same": coin P&L = q (C(F')/F' - C(F)/F), C Black-76 undiscounted
    (PM revalues with r = 0 and no time decay) on the option's forward, F' = F (1 + m).  Vol up can only
    add value to a long call, vol down only take it away."""
    name, q = "BTC-25DEC26-100000-C", 3.0
    book = hand_book([(name, q)])
    resolved = book.instrument_greeks(MARKET).market
    row = list(book.instruments.names).index(name)
    f, sigma, t_years = float(resolved.forward[row]), float(resolved.sigma[row]), float(resolved.t[row])
    k = 100_000.0
    t = parse(ro.report(book, desk_market()).html).table("profile-btc_btc-data")
    base = black76_call(f, k, sigma, t_years) / f
    for m, up, same, down in zip(
        t.column("move"), t.column("vol up"), t.column("vol same"), t.column("vol down")
    ):
        assert m is not None and up is not None and same is not None and down is not None
        f2 = f * (1.0 + m)
        assert same == pytest.approx(
            q * (black76_call(f2, k, sigma, t_years) / f2 - base), rel=1e-7, abs=1e-9
        )
        assert up >= same - 1e-12 and down <= same + 1e-12


def test_profile_at_no_move_is_the_pm_centre_bucket(samples: dict[str, tuple[Report, ParsedReport]]) -> None:
    """The profile (a PM run with a widened price range) and the PM risk matrix (the default run) meet at
    move 0: there the profile's three vol states must equal the centre bucket of the plain PM vectors summed
    over accounts, and at vol "same" the P&L is exactly 0 (nothing moved)."""
    for name, (_, parsed) in samples.items():
        result = ro.margin(ro.Book.sample(name), MARKET)
        centre: dict[str, np.ndarray] = {}
        for g in result.groups or (result,):
            standard = g.details["pre_aggregated"]["standard"]
            b = len(standard) // 6  # centre bucket of 2B + 1: entries 3 B .. 3 B + 2
            centre[g.group] = centre.get(g.group, 0.0) + np.asarray(standard[3 * b : 3 * b + 3])
        for group, expected in centre.items():
            t = parsed.table(f"profile-{group}-data")
            row = t.rows[t.column("move").index(0.0)]
            assert [v for _, v in row[2:]] == pytest.approx(expected.tolist(), rel=1e-12, abs=1e-12), name
            assert row[3][1] == 0.0


def test_risk_matrix_tables_are_the_pm_vectors(samples: dict[str, tuple[Report, ParsedReport]]) -> None:
    """The standard table is entry 3 b + v of each group's aggregated vector; its moves are R (b - B) / B
    (B = 4 buckets, R = 16 % for BTC and 18 % for ETH in the bundled sets); the outlined cell is the worst
    scenario, and when it is in the standard table it holds the table's minimum."""
    book = ro.Book.sample("market_maker")
    parsed = samples["market_maker"][1]
    groups = ro.margin(book, MARKET).groups
    assert len(groups) == 4
    for g in groups:
        key = f"matrix-{g.account}-{g.group}"
        t = parsed.table(key + "-data")
        vector = g.details["aggregated"]["standard"]
        cells = [[v for _, v in row[1:]] for row in t.rows]
        assert [c for row in cells for c in row] == vector
        r = {"btc": 0.16, "eth": 0.18}[g.group[:3]]
        assert t.column("move") == pytest.approx([r * (b - 4) / 4 for b in range(9)])
        ext = parsed.table(key + "-extended")
        assert ext.column("after dampener") == g.details["aggregated"]["extended"]
        assert ext.column("P&L") == g.details["pre_aggregated"]["extended"]
        assert parsed.worst_marks[key] == (1 if g.worst_scenario.index < 27 else 0)
        if g.worst_scenario.index < 27:
            assert min(vector) == g.worst_scenario.pnl


def test_margin_table_matches_compare_margins(samples: dict[str, tuple[Report, ParsedReport]]) -> None:
    for name, (_, parsed) in samples.items():
        compared = ro.compare_margins(ro.Book.sample(name), MARKET)
        t = parsed.table("margins-data")
        shown = {row[0][0]: row for row in t.rows}
        assert set(shown) == set(compared)
        for method, result in compared.items():
            if isinstance(result, Exception):
                assert shown[method][1][0] == "not run" and str(result) in shown[method][4][0]
            else:
                assert shown[method][1][1] == result.initial_usd
                assert shown[method][2][1] == result.maintenance_usd


def test_greeks_by_strike_add_up_to_the_net_vega(samples: dict[str, tuple[Report, ParsedReport]]) -> None:
    """Vega lives in options only, so the by-strike rows of an underlying (all expiries) must add up to its
    net vega, and the by-expiry rows to its net delta."""
    book = ro.Book.sample("market_maker")
    parsed = samples["market_maker"][1]
    net = {r["underlying"]: r for r in book.greeks(MARKET).rows()}
    by_expiry = parsed.table("greeks-expiry-data")
    for u, row in net.items():
        strikes = parsed.table(f"greeks-strike-{u}-data")
        assert sum(strikes.column("vega (USD/vol pt)")) == pytest.approx(row["vega_per_point"], rel=1e-9)  # type: ignore[arg-type]
        delta = [r[2][1] for r in by_expiry.rows if r[0][0] == u]
        assert sum(delta) == pytest.approx(row["delta"], rel=1e-9, abs=1e-9)  # type: ignore[arg-type]


def test_worst_scenario_drivers_add_up(samples: dict[str, tuple[Report, ParsedReport]]) -> None:
    """Each drivers table: the top positions plus "other positions" add up to the total, the total is the
    group's plain P&L in its worst scenario, and the rows are sorted by loss."""
    for name in ("market_maker", "short_strangle", "linear_inverse"):
        parsed = samples[name][1]
        for g in ro.margin(ro.Book.sample(name), MARKET).groups or (ro.margin(ro.Book.sample(name), MARKET),):
            t = parsed.table(f"drivers-{g.account}-{g.group}-data")
            pnl = t.column("P&L")
            parts, total = pnl[:-1], pnl[-1]
            assert sum(parts) == pytest.approx(total, rel=1e-9, abs=1e-12)  # type: ignore[arg-type]
            n_std = len(g.details["pre_aggregated"]["standard"])
            i = g.worst_scenario.index
            pre = g.details["pre_aggregated"]
            assert total == pytest.approx(
                pre["standard"][i] if i < n_std else pre["extended"][i - n_std], rel=1e-9
            )
            top = [v for row, v in zip(t.rows, pnl) if "other positions" not in row[0][0]][:-1]
            assert top == sorted(top)  # type: ignore[type-var]


def test_hedge_section_matches_ro_hedge(samples: dict[str, tuple[Report, ParsedReport]]) -> None:
    h = ro.hedge(ro.Book.sample("market_maker"), MARKET, "delta")
    parsed = samples["market_maker"][1]
    trades = parsed.table("hedge-trades")
    assert [r[0][0] for r in trades.rows] == [t.instrument for t in h.trades]
    assert trades.column("quantity") == [t.quantity for t in h.trades]
    greeks = parsed.table("hedge-greeks")
    after = dict(zip((r[0][0] for r in greeks.rows), greeks.column("after (residual)")))
    # The residual delta is what rounding to whole lots leaves: under one lot's delta per underlying.
    for u, lot_delta in (
        ("BTC", 10.0 / MARKET.marks["BTC-PERPETUAL"]),
        ("ETH", 1.0 / MARKET.marks["ETH-PERPETUAL"]),
    ):
        assert abs(after[f"delta {u}"]) <= lot_delta  # type: ignore[arg-type]


def test_liquidation_prices_are_marked_and_tabled() -> None:
    book = ro.Book.sample("short_strangle")
    balance = {"BTC": 1.0, "ETH": 30.0}
    r = ro.report(book, MARKET, balances=balance)
    parsed = parse(r.html)
    t = parsed.table("liquidation")
    for row in t.rows:
        underlying = row[1][0]
        liq = ro.liquidation(book, MARKET, balance, underlying=underlying)
        assert row[6][1] == liq.price_down and row[8][1] == liq.price_up
    btc = ro.liquidation(book, MARKET, balance, underlying="BTC")
    profile = next(c for c in r.charts() if c.id == "profile-btc_btc")
    marked = [x for x, label in profile.markers if label.startswith("liq.")]
    assert btc.price_down is not None and btc.price_up is not None
    assert marked == [btc.price_down, btc.price_up]
    assert min(profile.x) < btc.price_down < btc.price_up < max(profile.x)


def test_liquidation_now_when_below_maintenance() -> None:
    r = ro.report(ro.Book.sample("short_strangle"), MARKET, balances={"BTC": 0.01})
    labels = [label for c in r.charts() if c.id.startswith("profile-") for _, label in c.markers]
    assert any("now" in label for label in labels)


# ------------------------------------------------------------------------------------ bad input
def test_bad_input_is_named() -> None:
    book = ro.Book.sample("market_maker")
    with pytest.raises(TypeError, match="book"):
        ro.report("market_maker", MARKET)
    with pytest.raises(TypeError, match="market"):
        ro.report(book, {"BTC": 1.0})
    with pytest.raises(ValueError, match="3 accounts"):
        ro.report(book, MARKET, balances={"BTC": 1.0})
    with pytest.raises(ValueError, match="no account 'nobody'"):
        ro.report(book, MARKET, balances={"nobody": {"BTC": 1.0}})
    with pytest.raises(TypeError, match="balances"):
        ro.report(ro.Book.sample("short_strangle"), MARKET, balances="BTC:1")


def test_empty_book_gives_a_report() -> None:
    r = ro.report(hand_book([("BTC-PERPETUAL", 1000.0), ("BTC-PERPETUAL", -1000.0)]), desk_market())
    assert "<h1>" in r.html  # nothing to show, but a page, not a crash


# ------------------------------------------------------------------------------------ figures
def test_figures_without_matplotlib_name_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    r = ro.report(ro.Book.sample("calendar_spread"), MARKET)
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    with pytest.raises(ImportError, match=r"riskoffset\[plot\]"):
        r.figures()
    with pytest.raises(ImportError, match=r"riskoffset\[plot\]"):
        r.save_png("unused")


def test_figures_and_files(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    r = ro.report(ro.Book.sample("short_strangle"), MARKET)
    figures: dict[str, Any] = r.figures()
    assert set(figures) == {c.id for c in r.charts()}
    line = figures["profile-btc_btc"].axes[0]
    chart = next(c for c in r.charts() if c.id == "profile-btc_btc")
    assert np.allclose(line.lines[0].get_ydata(), chart.series[0].values)
    pngs = r.save_png(tmp_path / "png")
    svgs = r.save_svg(tmp_path / "svg")
    assert len(pngs) == len(svgs) == len(figures)
    assert all(p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" for p in pngs)
    assert all(b"<svg" in p.read_bytes()[:2000] for p in svgs)


# ------------------------------------------------------------------------------------ command line
def test_cli_main(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "mm.html"
    assert cli_main(["market_maker", "-o", str(out)]) == 0
    assert problems(parse(out.read_text(encoding="utf-8"))) == []
    assert "SYNTHETIC" in capsys.readouterr().out
    book_csv = tmp_path / "book.csv"
    ro.Book.sample("short_strangle").to_csv(book_csv)
    out2 = tmp_path / "ss.html"
    assert cli_main([str(book_csv), "--balance", "BTC:1", "--balance", "ETH:30", "-o", str(out2)]) == 0
    assert "liquidation" in parse(out2.read_text(encoding="utf-8")).tables
    assert cli_main(["no-such-book", "-o", str(out)]) == 2
    assert "no-such-book" in capsys.readouterr().err
    assert cli_main(["market_maker", "--balance", "BTC", "-o", str(out)]) == 2
    assert cli_main(["--no-such-flag"]) == 2
