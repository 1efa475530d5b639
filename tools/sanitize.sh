#!/usr/bin/env bash
# The C++ core under AddressSanitizer and UndefinedBehaviorSanitizer: riskoffset built with
# -fsanitize=address,undefined (any finding fatal; only the SIMD targets this CPU runs) in its own venv, then
# the tests that drive every binding and kernel (bad inputs, fuzzing, threads included) run with the ASan
# runtime preloaded.  Zero findings is the bar: a finding aborts the run with its report and a non-zero exit.
# Leak detection is off (CPython keeps its objects at exit by design).
#   tools/sanitize.sh [PYTEST ARGS...]      (PYTHON: the interpreter, default python3;
#                                            SANITIZE_WORK: scratch directory, default a new temp dir;
#                                            SANITIZE_JOBS: pytest-xdist workers, default auto;
#                                            SANITIZE_STEP: build, test or all (default), with SANITIZE_WORK
#                                            kept between a build and a test step)
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
if [[ -n ${SANITIZE_WORK:-} ]]; then
  WORK=$SANITIZE_WORK
else
  WORK=$(mktemp -d "${TMPDIR:-/tmp}/riskoffset-sanitize.XXXXXX")
  trap 'rm -rf "$WORK"' EXIT
fi
venv=$WORK/venv
STEP=${SANITIZE_STEP:-all}  # build (the instrumented venv only), test (in the venv a build step made), or all
# The SIMD targets this CPU runs (the others' code cannot run here, and building it instrumented takes longest).
targets=()
for isa in avx512 avx2; do
  case $isa in avx512) need="avx512f avx512dq avx512vl fma" ;; avx2) need="avx2 fma" ;; esac
  ok=1
  for flag in $need; do grep -qw "$flag" /proc/cpuinfo 2>/dev/null || ok=0; done
  if [[ $ok == 1 ]]; then targets+=("$isa"); fi
done
targets_list=$(IFS=';'; echo "${targets[*]}")
if [[ $STEP != test ]]; then
  "$PY" -m venv "$venv"
  "$venv/bin/python" -m pip install --quiet --upgrade pip
  "$venv/bin/python" -m pip install --quiet -C cmake.define.RISKOFFSET_SANITIZE=address,undefined \
    -C "cmake.define.RISKOFFSET_SIMD_TARGETS=$targets_list" \
    -C cmake.build-type=Release -C build-dir="$WORK/build" . pytest pytest-xdist mpmath hypothesis pytest-benchmark pandas scipy "vollib==1.0.11"
fi
if [[ $STEP == build ]]; then echo "sanitize: instrumented build in $venv"; exit 0; fi
ASAN_RUNTIME=$(${CXX:-g++} -print-file-name=libasan.so)
if [[ ! -e $ASAN_RUNTIME ]]; then echo "sanitize: no libasan.so found (install the compiler's ASan runtime)"; exit 1; fi
# libstdc++ preloaded too: python is not linked against it, and ASan's exception interceptor needs it first.
PRELOAD="$ASAN_RUNTIME $(${CXX:-g++} -print-file-name=libstdc++.so)"
LOGS=$WORK/sanitizer-log  # reports go to files: pytest captures the test's stderr and an abort loses it
rm -f "$LOGS".*
export ASAN_OPTIONS=detect_leaks=0:abort_on_error=1:halt_on_error=1:strict_string_checks=1:detect_stack_use_after_return=1:log_path=$LOGS
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1:log_path=$LOGS
export HYPOTHESIS_PROFILE=${HYPOTHESIS_PROFILE:-sanitize}  # fewer examples per property (tests/conftest.py)
# Every test that reaches the C++ core; left out: the browser test (Chromium is not ours to sanitize), the Dask
# tests (worker processes), the pure-Python command line, report, README and SPAN-file tests, the accuracy
# tests against mpmath (most of their time is the oracle in Python; the kernels they call are driven here by the
# binding, fuzz, SIMD-target and implied-vol tests, odd lengths and bad inputs included), and the live stream's
# message, replay and sample-stream tests (JSON, files and snapshots in Python, under the sanitizers about a sixth
# of this run's test time; the engine calls they make are the live engine tests'), and the cluster engine's
# (Dask worker processes, and routing in Python over the same engine calls).
tests=(tests --ignore=tests/test_report_browser.py --ignore=tests/test_distributed.py --ignore=tests/test_readme.py
       --ignore-glob='tests/test_cli*.py' --ignore-glob='tests/test_report*.py' --ignore-glob='tests/test_span*.py'
       --ignore-glob='tests/test_accuracy*.py' --ignore=tests/test_live_messages.py --ignore=tests/test_live_replay.py
       --ignore=tests/test_live_stream.py --ignore=tests/test_live_cluster.py)
# The tests that drive the bindings with every kind of argument (bad and odd inputs, fuzzing, threads) run with
# every Python allocation through malloc (PYTHONMALLOC=malloc): a reference-count slip in a binding then shows up
# as a use after free.  The rest run with Python's own small-object allocator, at half the time: the arrays the
# core reads and writes are numpy's or its own, allocated with malloc either way.
bindings=(tests/test_core_bindings.py tests/test_bad_input.py tests/test_fuzz.py tests/test_threads.py
          tests/test_thread_stress.py tests/test_memory_pool.py tests/test_live_refresh_calls.py)
# (the tests import the installed, instrumented package: the source tree is not on sys.path)
rc=0
run_tests() {  # run_tests PYTHONMALLOC PYTEST_ARGS...
  local allocator=$1
  shift
  # Spread over the cores (pytest-xdist): the worker processes inherit the preload and the options above.
  PYTHONMALLOC=$allocator LD_PRELOAD=$PRELOAD "$venv/bin/python" -m pytest -q -p no:cacheprovider \
    --numprocesses="${SANITIZE_JOBS:-auto}" "$@" || rc=$?
}
if [[ $# -gt 0 ]]; then
  run_tests malloc "$@"
else
  run_tests malloc "${bindings[@]}"
  run_tests default "${tests[@]}" "${bindings[@]/#/--ignore=}"
fi
if compgen -G "$LOGS.*" >/dev/null; then
  echo "sanitize: FINDINGS"; cat "$LOGS".*; exit 1
fi
if [[ $rc -ne 0 ]]; then echo "sanitize: the tests failed under the sanitizers (exit $rc)"; exit "$rc"; fi
echo "sanitize: no finding"
