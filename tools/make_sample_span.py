#!/usr/bin/env python3
"""Write the bundled SYNTHETIC SPAN risk-parameter file for the bundled sample market, and its book mapping.

    python tools/make_sample_span.py            # -> python/riskoffset/data/span/sample-synthetic.{spn,json}

No clearing house publishes SPAN files for Deribit's instruments, so this one is made here, the way a clearing
house makes its own: every contract of the sample market is revalued under the 16 standard SPAN scenarios
(price moves of 0, +-1/3, +-2/3, +-3/3 of the price scan range, each with the volatility up and down, and two
extreme moves of twice the range covering 35 % of the loss; the point definitions of tools/make_span_file.py)
with riskoffset's own Black-76 pricer.  Everything else is an illustrative choice, not any exchange's:

- one combined commodity per coin (BTC, ETH); one SPAN future per expiry (priced at the market's forward) and
  one for the perpetual, one SPAN option per (expiry, strike, call/put); a SPAN contract is 1 coin and its
  risk array is in USD, so the coin-settled and the USDC-settled option of one strike map to the same contract
  (their USD payoffs are equal);
- price scan range 15 % of the forward, volatility scan range 10 vol points, no time decay over the scan;
- one intra-commodity tier per expiry; calendar spreads between every two tiers (nearest first) charged 1 % of the nearer
  forward per coin of delta; short option minimum 0.5 % of the index per short option; maintenance = initial /
  1.1; no inter-commodity credit between BTC and ETH.

The JSON file maps every sample-market instrument to ``[SPAN contract, factor]`` (SPAN contracts per book
contract: the face of an inverse future over its forward, the coin size of a linear one, 1 for options, 0 for
spot, which is collateral and carries no SPAN requirement).
"""

from __future__ import annotations

import json
import sys
from datetime import datetime, timezone
from pathlib import Path
from typing import IO

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import riskoffset as ro
from make_span_file import POINTS, _point_def
from riskoffset.instruments import SETTLEMENTS

PRICE_SCAN = 0.15  # of the forward
VOL_SCAN = 0.10  # absolute
CALENDAR_CHARGE = 0.01  # of the nearer forward, per coin of delta spread
SHORT_OPTION_MINIMUM = 0.005  # of the index, per short option
INITIAL_OVER_MAINTENANCE = 1.1
OUT = Path(__file__).resolve().parents[1] / "python" / "riskoffset" / "data" / "span"


def _moves() -> list[tuple[float, float, float]]:
    """(price move in units of the scan range, vol move in units of the vol scan, weight) per scan point."""
    return [(mult * num / den, vol, weight) for num, den, mult, vol, weight, _ in POINTS]


def _losses(flag: np.ndarray, forward: np.ndarray, strike: np.ndarray, t: np.ndarray, sigma: np.ndarray,
            rate: float) -> np.ndarray:
    """(n, 16) weighted USD losses of long 1 coin of each option (or future where flag is empty)."""
    is_option = flag != ""
    f = np.where(is_option, flag, "c")
    base = np.where(is_option, ro.price(f, forward, strike, t, rate, sigma), forward)
    out = np.empty((len(forward), len(POINTS)))
    for j, (p, v, w) in enumerate(_moves()):
        moved = forward * (1.0 + p * PRICE_SCAN)
        vol = np.maximum(sigma + v * VOL_SCAN, 0.01)
        value = np.where(is_option, ro.price(f, moved, strike, t, rate, vol), moved)
        out[:, j] = -(value - base) * w
    return out


def _ra(loss: np.ndarray, delta: float) -> str:
    return "<ra><r>1</r>" + "".join(f"<a>{v:.2f}</a>" for v in loss) + f"<d>{delta:.6f}</d></ra>"


def write(out_dir: Path = OUT) -> dict[str, int]:
    market = ro.Market.sample()
    table = market.instruments
    assert table is not None
    resolved = market.resolve(table)
    names = table.names.tolist()
    day = market.valuation_time.strftime("%Y%m%d")
    mapping: dict[str, list[object]] = {}
    spn = out_dir / "sample-synthetic.spn"
    out_dir.mkdir(parents=True, exist_ok=True)
    counts = {"futures": 0, "options": 0}
    with open(spn, "w", encoding="ascii") as out:
        _header(out, day)
        cid = 1
        commodities: list[tuple[str, int, list[tuple[str, float]], float]] = []
        for c, coin in enumerate(sorted({n.split("-")[0].split("_")[0] for n in names})):
            rows = [i for i, n in enumerate(names) if n.split("-")[0].split("_")[0] == coin]
            index = float(resolved.index[rows[0]])
            # One SPAN future per expiry (options' forwards and futures' marks) plus the perpetual.
            expiry_forward: dict[str, float] = {}
            for i in rows:
                if table.kind[i] == ro.instruments.KIND_SPOT or resolved.t[i] <= 0:
                    continue
                pe = _period(int(table.expiration_ms[i]))
                expiry_forward.setdefault(pe, float(resolved.forward[i]))
            perpetual = [i for i in rows if names[i].endswith("PERPETUAL")]
            periods = [(day, float(resolved.forward[perpetual[0]]))] + sorted(expiry_forward.items())
            fut_id = {}
            out.write(
                f"<futPf><pfId>{10 * c + 1}</pfId><pfCode>{coin}F</pfCode><name>{coin} future (synthetic)</name>"
                "<currency>USD</currency><cvf>1</cvf><valueMeth>FUT</valueMeth>"
                "<undPf><exch>SYN</exch><pfId>0</pfId><s>0</s><i>1</i></undPf>\n"
            )
            fwd = np.array([f for _, f in periods])
            none = np.full(len(periods), "", dtype=object)
            losses = _losses(none, fwd, fwd, np.zeros(len(fwd)), np.zeros(len(fwd)), market.rate)
            for (pe, f), loss in zip(periods, losses):
                out.write(
                    f"<fut><cId>{cid}</cId><pe>{pe}</pe><p>{f:.2f}</p><d>1</d><cvf>1</cvf>"
                    "<undC><exch>SYN</exch><pfId>0</pfId><cId>0</cId><s>0</s><i>1</i></undC>"
                    f"<scanRate><r>1</r><priceScan>{PRICE_SCAN * f:.2f}</priceScan><volScan>{VOL_SCAN}</volScan>"
                    f"</scanRate>{_ra(loss, 1.0)}</fut>\n"
                )
                fut_id[pe] = cid
                cid += 1
                counts["futures"] += 1
            out.write("</futPf>\n")
            # Book mapping of futures, perpetuals and spot.
            for i in rows:
                name, size = names[i], float(table.contract_size[i])
                if table.kind[i] == ro.instruments.KIND_SPOT:
                    mapping[name] = [f"{coin}F:{fut_id[day]}", 0.0]
                elif table.kind[i] == ro.instruments.KIND_OPTION:
                    continue
                else:
                    pe = day if resolved.t[i] <= 0 else _period(int(table.expiration_ms[i]))
                    inverse = table.settlement[i] == SETTLEMENTS.index("inverse")
                    factor = size / float(resolved.forward[i]) if inverse else size
                    mapping[name] = [f"{coin}F:{fut_id[pe]}", factor]
            # Options on the SPAN futures: one contract per (expiry, strike, call/put).
            out.write(
                f"<oofPf><pfId>{10 * c + 2}</pfId><pfCode>{coin}O</pfCode><name>{coin} option (synthetic)</name>"
                "<exercise>EURO</exercise><currency>USD</currency><cvf>1</cvf><cab>0</cab>"
                "<valueMeth>PREM</valueMeth><priceModel>BLACK</priceModel>"
                f"<undPf><exch>SYN</exch><pfId>{10 * c + 1}</pfId><s>0</s><i>1</i></undPf>\n"
            )
            options = [i for i in rows if table.kind[i] == ro.instruments.KIND_OPTION and resolved.t[i] > 0]
            by_period: dict[str, dict[tuple[str, float], int]] = {}
            for i in options:
                pe = _period(int(table.expiration_ms[i]))
                key = ("C" if table.flag[i] > 0 else "P", float(table.strike[i]))
                by_period.setdefault(pe, {}).setdefault(key, i)
            option_id: dict[tuple[str, str, float], int] = {}
            for pe in sorted(by_period):
                series = by_period[pe]
                keys = sorted(series, key=lambda k: (k[1], k[0]))
                idx = [series[k] for k in keys]
                f = resolved.forward[idx]
                flag = np.array([k[0].lower() for k in keys], dtype=object)
                strike = np.array([k[1] for k in keys])
                t, sigma = resolved.t[idx], resolved.sigma[idx]
                loss = _losses(flag, f, strike, t, sigma, market.rate)
                value = ro.price(flag.astype(str), f, strike, t, market.rate, sigma)
                delta = ro.greeks(flag.astype(str), f, strike, t, market.rate, sigma, greeks="delta")["delta"]
                out.write(f"<series><pe>{pe}</pe><v>{float(np.median(sigma)):.4f}</v><t>{float(t[0]):.6f}</t>")
                out.write(f"<cvf>1</cvf><sc>1</sc><undC><exch>SYN</exch><pfId>{10 * c + 1}</pfId>")
                out.write(f"<cId>{fut_id[pe]}</cId><s>0</s><i>1</i></undC>\n")
                for j, (o, k) in enumerate(keys):
                    out.write(
                        f"<opt><cId>{cid}</cId><o>{o}</o><k>{k:.2f}</k><p>{value[j]:.4f}</p><d>{delta[j]:.6f}</d>"
                        f"<v>{sigma[j]:.4f}</v>{_ra(loss[j], float(delta[j]))}</opt>\n"
                    )
                    option_id[(pe, o, k)] = cid
                    cid += 1
                    counts["options"] += 1
                out.write("</series>\n")
            out.write("</oofPf>\n")
            for i in options:
                pe = _period(int(table.expiration_ms[i]))
                o = "C" if table.flag[i] > 0 else "P"
                mapping[names[i]] = [f"{coin}O:{option_id[(pe, o, float(table.strike[i]))]}", 1.0]
            commodities.append((coin, c, periods, index))
        out.write("</exchange>\n")  # the clearing org lists its combined commodities after its exchanges
        for commodity in commodities:
            _combined_commodity(out, *commodity)
        out.write("</clearingOrg>\n</pointInTime>\n</spanFile>\n")
    doc = {
        "description": "SYNTHETIC SPAN risk parameters for the bundled sample market (made by "
        "riskoffset's sample generator, see docs/span.md; illustrative, not any exchange's): the SPAN file and the mapping from "
        "sample-market instrument names to [SPAN contract, SPAN contracts per book contract].",
        "file": spn.name,
        "mapping": mapping,
    }
    (out_dir / "sample-synthetic.json").write_text(json.dumps(doc, indent=0, sort_keys=True) + "\n")
    counts["bytes"] = spn.stat().st_size
    return counts


def _period(expiration_ms: int) -> str:
    """SPAN period code (YYYYMMDD) of an expiry."""
    return datetime.fromtimestamp(expiration_ms / 1000.0, tz=timezone.utc).strftime("%Y%m%d")


def _header(out: IO[str], day: str) -> None:
    out.write('<?xml version="1.0" encoding="UTF-8"?>\n<!-- SYNTHETIC: made by riskoffset\'s sample generator, see docs/span.md for the '
              "bundled sample market; not any exchange's parameters -->\n<spanFile>\n<fileFormat>4.00</fileFormat>\n")
    out.write(f"<created>{day}0000</created>\n<definitions>\n")
    out.write("<currencyDef><currency>USD</currency><symbol>$</symbol><name>US Dollar</name>")
    out.write("<decimalPos>2</decimalPos></currencyDef>\n")
    out.write("<acctTypeDef><isCust>1</isCust><acctType>SPEC</acctType><isNetMargin>1</isNetMargin>")
    out.write("<priority>1</priority></acctTypeDef>\n</definitions>\n")
    out.write(f"<pointInTime><date>{day}</date><isSetl>1</isSetl><setlQualifier>final</setlQualifier>\n")
    out.write("<clearingOrg><ec>SYN</ec><name>Synthetic clearing (riskoffset sample)</name><finalizeMeth>1")
    out.write("</finalizeMeth><capAnov>0</capAnov><lookAheadDays>1</lookAheadDays><daysPerYear>365</daysPerYear>\n")
    out.write("<pbRateDef><r>1</r><isCust>1</isCust><acctType>SPEC</acctType><isM>1</isM><pbc>SPEC</pbc>")
    out.write("</pbRateDef>\n<pbRateDef><r>2</r><isCust>1</isCust><acctType>SPEC</acctType><isM>0</isM>")
    out.write("<pbc>SPEC</pbc></pbRateDef>\n")
    _point_def(out)
    out.write("<exchange><exch>SYN</exch><name>Synthetic exchange (riskoffset sample)</name>\n")


def _combined_commodity(out: IO[str], coin: str, c: int, periods: list[tuple[str, float]], index: float) -> None:
    """One coin's combined commodity: a tier per expiry, calendar spreads between consecutive tiers, the short
    option minimum and the initial/maintenance ratio."""
    out.write(
        f"<ccDef><cc>{coin}</cc><name>{coin} (synthetic)</name><currency>USD</currency>"
        "<capAnov>0</capAnov><wfprMeth>1</wfprMeth><somMeth>GROSS</somMeth>\n"
        f"<pfLink><exch>SYN</exch><pfId>{10 * c + 1}</pfId><pfCode>{coin}F</pfCode><sc>1</sc></pfLink>"
        f"<pfLink><exch>SYN</exch><pfId>{10 * c + 2}</pfId><pfCode>{coin}O</pfCode><sc>1</sc></pfLink>\n"
        f"<adjRate><r>2</r><baseR>1</baseR><val>{INITIAL_OVER_MAINTENANCE}</val></adjRate>\n<intraTiers>"
    )
    for n, (pe, _) in enumerate(periods, start=1):
        out.write(f"<tier><tn>{n}</tn><sPe>{pe}</sPe><ePe>{pe}</ePe></tier>")
    out.write(f"</intraTiers>\n<somTiers><tier><tn>1</tn><rate><r>1</r><val>{SHORT_OPTION_MINIMUM * index:.2f}</val>")
    out.write("</rate></tier></somTiers>\n")
    # Calendar spreads between every pair of tiers, nearest pairs first (the order in which SPAN forms them).
    pairs = sorted(((a, b) for a in range(len(periods)) for b in range(a + 1, len(periods))), key=lambda p: p[1] - p[0])
    for n, (a, b) in enumerate(pairs, start=1):
        charge = CALENDAR_CHARGE * periods[a][1]
        out.write(
            f"<dSpread><spread>{n}</spread><chargeMeth>F</chargeMeth><rate><r>1</r><val>{charge:.2f}</val></rate>"
            f"<tLeg><cc>{coin}</cc><tn>{a + 1}</tn><rs>A</rs><i>1</i></tLeg>"
            f"<tLeg><cc>{coin}</cc><tn>{b + 1}</tn><rs>B</rs><i>1</i></tLeg></dSpread>\n"
        )
    out.write("</ccDef>\n")


if __name__ == "__main__":
    counts = write()
    print(f"{OUT}: {counts}")
