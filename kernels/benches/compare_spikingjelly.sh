#!/usr/bin/env bash
# Runs sj's fused CPU kernels and Python SpikingJelly 2.0.0 (../shared/bench case A) on this machine
# in one run and prints the ratios. Usage, from the repository root:
#   source ~/.cache/sj/env.sh && bash kernels/benches/compare_spikingjelly.sh [--quick]
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
bench="$root/../shared/bench"
out="$(mktemp -d)"
pyargs=""; [ "${1:-}" = "--quick" ] && pyargs="--reps 5"
# SpikingJelly 2.0.0 (pure Python) on the sj venv's torch 2.11.0, kept apart from 0.0.0.0.14.
if [ ! -d "$SJ_CACHE/bench-sj20/spikingjelly" ]; then
  pip install -q --no-deps --target "$SJ_CACHE/bench-sj20" "$bench"/whl/spikingjelly-2.0.0-py3-none-any.whl "$bench"/whl/loguru-0.7.3-py3-none-any.whl
fi
cargo build -q --release -p sj-kernels --example lif_timing
(cd "$bench" && PYTHONPATH="$SJ_CACHE/bench-sj20" python a_neuron.py --lib sj $pyargs 2>/dev/null) > "$out/sj_python.jsonl"
"$CARGO_TARGET_DIR/release/examples/lif_timing" ${1:-} > "$out/sj_rust.jsonl"
python - "$out/sj_python.jsonl" "$out/sj_rust.jsonl" <<'PY'
import json, sys
rows = lambda p: [json.loads(l) for l in open(p) if l.startswith("{")]
py = {(r["neuron"], r["T"], r["N"], r["mode"]): r for r in rows(sys.argv[1])}
rs = {(r["neuron"], r["T"], r["N"], r["mode"]): r for r in rows(sys.argv[2])}
print(f"{'neuron':<18}{'T':>4}{'N':>9} {'mode':<8}{'SpikingJelly ms':>16}{'sj ms':>9}{'ratio':>8}")
for k in sorted(rs, key=lambda k: (k[0], k[3], k[1], k[2])):
    if k in py:
        a, b = py[k]["ms"], rs[k]["ms"]
        print(f"{k[0]:<18}{k[1]:>4}{k[2]:>9} {k[3]:<8}{a:>16.2f}{b:>9.2f}{a / b:>7.1f}x")
sv = {r.get("lib_version") for r in rows(sys.argv[1])}
print(f"SpikingJelly {', '.join(sorted(v for v in sv if v))} (torch backend, CPU); sj fused CPU kernels; medians of one run")
PY
rm -rf "$out"
