#!/usr/bin/env python3
"""Write a synthetic SPAN XML risk-parameter file (.spn, fileFormat 4.00) of a chosen size.

For the parser benchmark (bench/test_bench_span.py) and for trying `riskoffset.margining.span` on something
the size of a real settlement file (NSE's are ~50 MB).  Everything in it is made up: combined
commodities SYN0, SYN1, ... each with one futures family (one future per month) and one options-on-
futures family (calls and puts on a strike ladder per month), 16-point risk arrays from a toy linear /
convex profile (extreme points at 2 x PSR with weight 0.35), composite deltas, one intra-commodity tier
per month with a spread between consecutive months, a short option minimum, an initial/maintenance
adjustment of 1.1 and inter-commodity spreads between neighbouring commodities.  Element names follow
CME's published XSD for SPAN risk-parameter files (spanrisk.xml).

    python tools/make_span_file.py out.spn --megabytes 50
    python tools/make_span_file.py out.spn --commodities 4 --months 6 --strikes 40
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path
from typing import IO

POINTS = [  # (price numerator, price denominator, price mult, vol mult, weight, paired)
    (0, 3, 1, 1, 1.0, 2), (0, 3, 1, -1, 1.0, 1),
    (1, 3, 1, 1, 1.0, 4), (1, 3, 1, -1, 1.0, 3),
    (1, 3, -1, 1, 1.0, 6), (1, 3, -1, -1, 1.0, 5),
    (2, 3, 1, 1, 1.0, 8), (2, 3, 1, -1, 1.0, 7),
    (2, 3, -1, 1, 1.0, 10), (2, 3, -1, -1, 1.0, 9),
    (3, 3, 1, 1, 1.0, 12), (3, 3, 1, -1, 1.0, 11),
    (3, 3, -1, 1, 1.0, 14), (3, 3, -1, -1, 1.0, 13),
    (1, 1, 2, 0, 0.35, 0), (1, 1, -2, 0, 0.35, 0),
]  # fmt: skip

#: Approximate bytes of one option contract element (used to size the file from --megabytes).
BYTES_PER_OPTION = 310


def _point_def(out: IO[str]) -> None:
    out.write("<pointDef><r>1</r>\n")
    for i, (num, den, mult, vol, weight, paired) in enumerate(POINTS, start=1):
        out.write(
            f"<scanPointDef><point>{i}</point><priceScanDef><mult>{mult}</mult><numerator>{num}</numerator>"
            f"<denominator>{den}</denominator></priceScanDef><volScanDef><mult>{vol}</mult><numerator>1"
            f"</numerator><denominator>1</denominator></volScanDef><weight>{weight}</weight>"
            f"<pairedPoint>{paired}</pairedPoint></scanPointDef>\n"
        )
    out.write("</pointDef>\n")


def _array(loss: list[float], delta: float) -> str:
    vals = "".join(f"<a>{v:.2f}</a>" for v in loss)
    return f"<ra><r>1</r>{vals}<d>{delta:.4f}</d></ra>"


def _scenario_moves() -> list[tuple[float, float, float]]:
    return [(mult * num / den, vol, weight) for num, den, mult, vol, weight, _ in POINTS]


def write(
    path: str | Path,
    *,
    commodities: int = 2,
    months: int = 4,
    strikes: int = 10,
    date: str = "20261124",
) -> dict[str, int]:
    """Write the file; return counts {"futures", "options", "contracts", "bytes"}."""
    moves = _scenario_moves()
    n_fut = n_opt = 0
    with open(path, "w", encoding="ascii") as out:
        out.write('<?xml version="1.0" encoding="UTF-8"?>\n<spanFile>\n<fileFormat>4.00</fileFormat>\n')
        out.write(f"<created>{date}0000</created>\n<definitions>\n")
        out.write("<currencyDef><currency>USD</currency><symbol>$</symbol><name>US Dollar</name>")
        out.write("<decimalPos>2</decimalPos></currencyDef>\n")
        out.write("<acctTypeDef><isCust>1</isCust><acctType>SPEC</acctType><isNetMargin>1</isNetMargin>")
        out.write("<priority>1</priority></acctTypeDef>\n</definitions>\n")
        out.write(f"<pointInTime><date>{date}</date><isSetl>1</isSetl><setlQualifier>final</setlQualifier>\n")
        out.write("<clearingOrg><ec>SYN</ec><name>Synthetic Clearing</name><finalizeMeth>1</finalizeMeth>")
        out.write("<capAnov>0</capAnov><lookAheadDays>1</lookAheadDays><daysPerYear>365</daysPerYear>\n")
        out.write("<pbRateDef><r>1</r><isCust>1</isCust><acctType>SPEC</acctType><isM>1</isM><pbc>SPEC</pbc>")
        out.write("</pbRateDef>\n<pbRateDef><r>2</r><isCust>1</isCust><acctType>SPEC</acctType><isM>0</isM>")
        out.write("<pbc>SPEC</pbc></pbRateDef>\n")
        _point_def(out)
        out.write("<exchange><exch>SYN</exch><name>Synthetic Exchange</name>\n")
        cid = 1
        for c in range(commodities):
            base = 100.0 * (c + 1)
            psr = 0.1 * base
            out.write(
                f"<futPf><pfId>{10 * c + 1}</pfId><pfCode>F{c}</pfCode><name>Future {c}</name>"
                "<currency>USD</currency><cvf>1</cvf><valueMeth>FUT</valueMeth>"
                f"<undPf><exch>SYN</exch><pfId>0</pfId><s>0</s><i>1</i></undPf>\n"
            )
            for m in range(months):
                pe = f"2027{m + 1:02d}"
                loss = [-psr * p * 1.0 for p, _v, w in moves]
                loss = [(v * w) if w != 1.0 else v for v, (_p, _vv, w) in zip(loss, moves)]
                out.write(
                    f"<fut><cId>{cid}</cId><pe>{pe}</pe><p>{base:.2f}</p><d>1</d><cvf>1</cvf>"
                    f"<undC><exch>SYN</exch><pfId>0</pfId><cId>0</cId><s>0</s><i>1</i></undC>"
                    f"<scanRate><r>1</r><priceScan>{psr:.2f}</priceScan><volScan>0.05</volScan></scanRate>"
                    f"{_array(loss, 1.0)}</fut>\n"
                )
                cid += 1
                n_fut += 1
            out.write("</futPf>\n")
            out.write(
                f"<oofPf><pfId>{10 * c + 2}</pfId><pfCode>O{c}</pfCode><name>Option {c}</name>"
                "<exercise>EURO</exercise><currency>USD</currency><cvf>1</cvf><cab>0</cab>"
                "<valueMeth>PREM</valueMeth><priceModel>BLACK</priceModel>"
                f"<undPf><exch>SYN</exch><pfId>{10 * c + 1}</pfId><s>0</s><i>1</i></undPf>\n"
            )
            for m in range(months):
                pe = f"2027{m + 1:02d}"
                out.write(f"<series><pe>{pe}</pe><v>0.3</v><t>{(m + 1) / 12:.4f}</t><cvf>1</cvf><sc>1</sc>")
                out.write(f"<undC><exch>SYN</exch><pfId>{10 * c + 1}</pfId><cId>{cid - months + m}</cId>")
                out.write("<s>0</s><i>1</i></undC>\n")
                for k in range(strikes):
                    strike = base * (0.8 + 0.4 * k / max(strikes - 1, 1))
                    for o in ("C", "P"):
                        x = (base - strike) / psr
                        delta = 1 / (1 + math.exp(-x)) if o == "C" else 1 / (1 + math.exp(-x)) - 1
                        gam = 0.05 * psr * math.exp(-x * x / 2)
                        loss = []
                        for p, v, w in moves:
                            dv = delta * psr * p + 0.5 * gam * p * p + 0.02 * psr * v
                            loss.append(-dv * w)
                        price = max(base - strike if o == "C" else strike - base, 0.0) + gam
                        out.write(
                            f"<opt><cId>{cid}</cId><o>{o}</o><k>{strike:.2f}</k><p>{price:.4f}</p>"
                            f"<d>{delta:.4f}</d><v>0.3</v>{_array(loss, delta)}</opt>\n"
                        )
                        cid += 1
                        n_opt += 1
                out.write("</series>\n")
            out.write("</oofPf>\n")
        out.write("</exchange>\n")
        for c in range(commodities):
            psr = 0.1 * 100.0 * (c + 1)
            out.write(
                f"<ccDef><cc>SYN{c}</cc><name>Synthetic {c}</name><currency>USD</currency>"
                "<capAnov>0</capAnov><wfprMeth>1</wfprMeth><somMeth>GROSS</somMeth>\n"
                f"<pfLink><exch>SYN</exch><pfId>{10 * c + 1}</pfId><pfCode>F{c}</pfCode><sc>1</sc></pfLink>"
                f"<pfLink><exch>SYN</exch><pfId>{10 * c + 2}</pfId><pfCode>O{c}</pfCode><sc>1</sc></pfLink>\n"
                "<adjRate><r>2</r><baseR>1</baseR><val>1.1</val></adjRate>\n<intraTiers>"
            )
            for m in range(months):
                pe = f"2027{m + 1:02d}"
                out.write(f"<tier><tn>{m + 1}</tn><sPe>{pe}</sPe><ePe>{pe}</ePe></tier>")
            out.write(f"</intraTiers>\n<somTiers><tier><tn>1</tn><rate><r>1</r><val>{0.01 * psr:.4f}</val>")
            out.write("</rate></tier></somTiers>\n")
            for m in range(months - 1):
                out.write(
                    f"<dSpread><spread>{m + 1}</spread><chargeMeth>F</chargeMeth>"
                    f"<rate><r>1</r><val>{0.05 * psr:.4f}</val></rate>"
                    f"<tLeg><cc>SYN{c}</cc><tn>{m + 1}</tn><rs>A</rs><i>1</i></tLeg>"
                    f"<tLeg><cc>SYN{c}</cc><tn>{m + 2}</tn><rs>B</rs><i>1</i></tLeg></dSpread>\n"
                )
            out.write("</ccDef>\n")
        out.write("<interSpreads>\n")
        for c in range(commodities - 1):
            out.write(
                f"<dSpread><spread>{c + 1}</spread><chargeMeth>F</chargeMeth><rate><r>1</r><val>0.5</val>"
                f"</rate><tLeg><cc>SYN{c}</cc><tn>1</tn><rs>A</rs><i>2</i></tLeg>"
                f"<tLeg><cc>SYN{c + 1}</cc><tn>1</tn><rs>B</rs><i>1</i></tLeg></dSpread>\n"
            )
        out.write("</interSpreads>\n</clearingOrg>\n</pointInTime>\n</spanFile>\n")
    size = Path(path).stat().st_size
    return {"futures": n_fut, "options": n_opt, "contracts": n_fut + n_opt, "bytes": size}


def layout_for_megabytes(megabytes: float, commodities: int = 10, months: int = 12) -> dict[str, int]:
    """Commodities / months / strikes giving a file of about ``megabytes`` MB."""
    options = megabytes * 1e6 / BYTES_PER_OPTION
    strikes = max(1, round(options / (commodities * months * 2)))
    return {"commodities": commodities, "months": months, "strikes": strikes}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("path")
    ap.add_argument("--megabytes", type=float, help="target size (overrides --strikes)")
    ap.add_argument("--commodities", type=int, default=2)
    ap.add_argument("--months", type=int, default=4)
    ap.add_argument("--strikes", type=int, default=10)
    args = ap.parse_args(argv)
    if args.megabytes:
        layout = layout_for_megabytes(args.megabytes, max(args.commodities, 10), max(args.months, 12))
    else:
        layout = {"commodities": args.commodities, "months": args.months, "strikes": args.strikes}
    counts = write(args.path, **layout)
    print(
        f"{args.path}: {counts['bytes'] / 1e6:.1f} MB, {counts['futures']} futures, {counts['options']} options"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
