#!/usr/bin/env bash
# Where the live engine's index tick spends its time, by function and source line, on a machine without
# hardware counters (a VM): perf's cpu-clock sampling of a 100,000-account tick loop, run against a build of
# the compiled module with the release flags plus debug information (the installed one carries no symbols).
#
#   tools/profile_tick.sh [BUILD_DIR] [ACCOUNTS]
#
# Needs perf, cmake and the package's build requirements in the active environment (pip install -e .).  The
# module is built in BUILD_DIR (default /tmp/riskoffset-prof, kept between runs: only what changed is rebuilt)
# and loaded in place of the installed one for this run only.  Prints the hottest functions, then writes the
# annotated source of the two hottest to BUILD_DIR/annotate-*.txt.
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
build="${1:-/tmp/riskoffset-prof}"
accounts="${2:-100000}"
command -v perf >/dev/null || { echo "perf is not installed" >&2; exit 1; }

python_exe="$(command -v python)"
pybind11_dir="$(python -c 'import pybind11; print(pybind11.get_cmake_dir())')"
# RelWithDebInfo with the release build's optimisation (pybind11 strips the module of a Release build).
cmake -S "$here" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo "-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=-O3 -g -DNDEBUG" \
  -DSKBUILD_PROJECT_NAME=riskoffset \
  -DSKBUILD_PROJECT_VERSION=0.0.0 -DPython_EXECUTABLE="$python_exe" -Dpybind11_DIR="$pybind11_dir" >/dev/null
cmake --build "$build" -j "$(nproc)" >/dev/null
module="$(ls "$build"/_core*.so)"

driver="$build/tick_loop.py"
cat >"$driver" <<EOF
import importlib.util, sys, time
spec = importlib.util.spec_from_file_location("riskoffset._core", "$module")
core = importlib.util.module_from_spec(spec); sys.modules["riskoffset._core"] = core; spec.loader.exec_module(core)
sys.path.insert(0, "$here/bench")
import riskoffset as ro
from test_bench_accounts import book_and_balances
market = ro.Market.sample()
book, balances = book_and_balances(market, $accounts)
engine = ro.RiskEngine(book, market, balances=balances)
price = market.index["BTC"]
for i in range(10): engine.on_index("BTC", price * (1 + 0.001 * (i % 2)))
print("go", flush=True)
start = time.perf_counter()
for i in range(100000):
    engine.on_index("BTC", price * (1 + 0.001 * (i % 2)))
    if time.perf_counter() - start > 15: break
print(f"{(time.perf_counter() - start) / (i + 1) * 1e3:.2f} ms a tick", flush=True)
EOF

log="$build/tick_loop.log"
python "$driver" >"$log" 2>&1 &
pid=$!
until grep -q go "$log" 2>/dev/null; do
  kill -0 "$pid" 2>/dev/null || { cat "$log" >&2; exit 1; }
  sleep 0.5
done
perf record -e cpu-clock -F 4000 -p "$pid" -o "$build/perf.data" -- sleep 8 >/dev/null 2>&1
wait "$pid"
tail -1 "$log"
perf report -i "$build/perf.data" --no-children --sort symbol --stdio 2>/dev/null | grep -E '^ +[0-9]' \
  >"$build/report.txt" || true
sed -E 's/[[:space:]]+-[[:space:]]+-[[:space:]]*$//' "$build/report.txt" | sed -n 1,12p
n=0
sed -n 1,2p "$build/report.txt" | sed -E 's/^ +[0-9.]+% +\[\.\] +//; s/[[:space:]]+-[[:space:]]+-[[:space:]]*$//; s/[[:space:]]+$//' | while read -r symbol; do
  n=$((n + 1))
  perf annotate -i "$build/perf.data" --stdio -s "$symbol" >"$build/annotate-$n.txt" 2>/dev/null || true
  echo "annotated: $build/annotate-$n.txt ($symbol)"
done
