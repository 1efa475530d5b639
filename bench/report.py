"""Turn pytest-benchmark JSON files into the ns/option tables of RESULTS.md.

    python -m pytest bench/ --benchmark-only --benchmark-json=/tmp/bench.json -p no:cacheprovider
    python bench/report.py /tmp/bench.json [/tmp/bench_run2.json ...]

ns/option = median seconds per call / N (N is stored by benchlib.per_option in extra_info["n"]).  With
several files (repeated runs of the suite) each row shows the median over runs of the per-run medians and
their range.  Within each group (one case at one N) every row gets its ratio to the numpy baseline or, for
implied vol, to the scipy brentq loop, and the riskoffset rows get the speed-up over each peer of the group.
"""

from __future__ import annotations

import json
import re
import statistics
import sys
from collections import defaultdict


def label(name: str, active: str) -> str:
    m = re.match(r"(test_\w+?)(?:\[(.*)\])?$", name)
    base, params = (m.group(1), m.group(2) or "") if m else (name, "")
    target = params.split("-")[0] if params and not params.startswith("N=") else ""
    return {
        "test_riskoffset_greeks6": f"riskoffset {target}, 1 thread",
        "test_riskoffset_greeks6_threads2": f"riskoffset {active}, 2 threads",
        "test_riskoffset_greeks6_out": f"riskoffset {active}, out= preallocated, {params.replace('threads=', '')} thread(s)",
        "test_numpy_greeks6": "numpy/scipy baseline",
        "test_vollib_loop_greeks6": "vollib 1.0.11 loop",
        "test_quantlib_loop_greeks6": "QuantLib loop",
        "test_scalar_price": "ro.price(floats)",
        "test_scalar_greeks": "ro.greeks(floats) (all 9, fast path)",
        "test_scalar_greeks6_selected": "ro.greeks(floats, greeks=[6 names])",
        "test_vollib_scalar_price": "vollib black(floats)",
        "test_vollib_scalar_greeks6": "vollib price + 5 Greeks (6 calls)",
        "test_riskoffset_iv": f"riskoffset {target}, 1 thread",
        "test_riskoffset_iv_threads2": f"riskoffset {active}, 2 threads",
        "test_riskoffset_iv_scalar": "ro.implied_vol(floats)",
        "test_vollib_iv_loop": "vollib 1.0.11 loop",
        "test_quantlib_iv_loop": "QuantLib loop (accuracy 1e-12)",
        "test_scipy_brentq_iv_loop": "scipy brentq loop",
    }.get(base, name)


def main(paths: list) -> None:
    runs = defaultdict(list)  # (group, label) -> [ns/option per run]
    rounds = {}
    for path in paths:
        with open(path) as fh:
            data = json.load(fh)
        info = data.get("machine_info", {})
        print(f"<!-- {path}: {info.get('cpu', {}).get('brand_raw', '')} {data.get('datetime', '')} -->")
        for b in data["benchmarks"]:
            if "n" not in b["extra_info"]:  # not a per-option benchmark (no benchlib.per_option label)
                continue
            n = b["extra_info"]["n"]
            key = (b["group"], label(b["name"], b["extra_info"].get("simd", "?")))
            runs[key].append(b["stats"]["median"] / n * 1e9)
            rounds[key] = b["stats"]["rounds"]
    groups = defaultdict(list)
    for (group, lab), values in runs.items():
        groups[group].append((lab, statistics.median(values), min(values), max(values), len(values)))

    def order(g: str):
        head, _, n = g.partition(" N=")
        return (head, int(n.replace(",", "")) if n else 0)

    for group in sorted(groups, key=order):
        rows = sorted(groups[group], key=lambda r: r[1])
        base = next((ns for lab, ns, *_ in rows if lab.startswith(("numpy", "scipy brentq"))), None)
        peers = [(lab, ns) for lab, ns, *_ in rows if not lab.startswith(("riskoffset", "ro."))]
        print(f"\n### {group}\n")
        print(
            "| implementation | median ns/option | range over runs | baseline / this | speed-up of this over each peer |"
        )
        print("|---|---:|---:|---:|---|")
        for lab, ns, lo, hi, k in rows:
            spread = f"{lo:,.1f}-{hi:,.1f} ({k} runs)" if k > 1 else ""
            vs_base = f"{base / ns:.3g}x" if base else ""
            over = ""
            if lab.startswith(("riskoffset", "ro.")):
                over = ", ".join(f"{p}: {pns / ns:.1f}x" for p, pns in peers)
            print(f"| {lab} | {ns:,.1f} | {spread} | {vs_base} | {over} |")


if __name__ == "__main__":
    main(sys.argv[1:])
