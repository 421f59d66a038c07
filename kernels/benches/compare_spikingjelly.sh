#!/usr/bin/env bash
# Runs sj's fused CPU kernels and Python SpikingJelly 2.0.0 (../shared/bench case A) on this machine
# in one run and prints the ratios. Usage, from the repository root:
#   source ~/.cache/sj/env.sh && bash kernels/benches/compare_spikingjelly.sh [--quick] [--same-malloc] [--passive-omp]
source "$(dirname "${BASH_SOURCE[0]}")/../../tests/bench/common.sh"
out="$(mktemp -d)"
quick=""; for a in "$@"; do [ "$a" = "--quick" ] && quick="--quick"; done
cargo build -q --release -p sj-kernels --example lif_timing
spikingjelly a_neuron.py --lib sj ${quick:+--reps 5} > "$out/py.jsonl"
"$CARGO_TARGET_DIR/release/examples/lif_timing" $quick > "$out/rs.jsonl"
ratios "$out/py.jsonl" "$out/rs.jsonl" neuron,T,N,mode ms
rm -rf "$out"
