# Shared by the compare_spikingjelly.sh scripts: sourced, from the repository root's scripts.
# Needs `source ~/.cache/sj/env.sh` first (CARGO_TARGET_DIR, SJ_CACHE, the venv's python).
set -euo pipefail
SJ_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
BENCH="$SJ_ROOT/../shared/bench"
# SpikingJelly 2.0.0 (pure Python) on the sj venv's torch 2.11.0, kept apart from the 0.0.0.0.14 in the venv.
SJ20="$SJ_CACHE/bench-sj20"
if [ ! -d "$SJ20/spikingjelly" ]; then
  pip install -q --no-deps --target "$SJ20" "$BENCH"/whl/spikingjelly-2.0.0-py3-none-any.whl "$BENCH"/whl/loguru-0.7.3-py3-none-any.whl
fi
# `--same-malloc`: run SpikingJelly with the glibc setting that sj's benchmarks turn on
# (sj::device::keep_freed_memory), so that the ratio compares the kernels alone.
PY_ENV=()
OMP_NOTE="OpenMP wait policy: ${OMP_WAIT_POLICY:-default (threads spin after each parallel op)}"
for a in "$@"; do
  [ "$a" = "--same-malloc" ] && PY_ENV=(MALLOC_MMAP_MAX_=0 MALLOC_TRIM_THRESHOLD_=2147483647)
  # `--passive-omp`: libtorch's OpenMP threads sleep instead of spinning after each parallel op,
  # on both sides (on 2 cores the spinning threads compete with sj's rayon threads).
  if [ "$a" = "--passive-omp" ]; then export OMP_WAIT_POLICY=PASSIVE; OMP_NOTE="OpenMP wait policy: PASSIVE on both sides"; fi
done
# spikingjelly SCRIPT ARGS...: one of ../shared/bench's scripts with SpikingJelly 2.0.0.
spikingjelly() {
  (cd "$BENCH" && env "${PY_ENV[@]}" PYTHONPATH="$SJ20" python "$@" 2>/dev/null)
}
# ratios PY_JSONL RS_JSONL KEYS VALUE: the table of both sides (tests/bench/ratios.py).
ratios() {
  python "$SJ_ROOT/tests/bench/ratios.py" "$@"
  echo "SpikingJelly 2.0.0 (CPU, malloc: ${PY_ENV[*]:-glibc default}); sj with its own allocator setting; $OMP_NOTE; one run, same machine"
}
