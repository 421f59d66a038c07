#!/usr/bin/env bash
# STDPLearner.step, sj against Python SpikingJelly 2.0.0 in one run (issue 10's workloads): Conv2d
# 16->16 3x3, T=8, batch 32, 32x32 input, step mode 's'; Linear 784->400, T=100, batch 64, 's'→'m'.
# From the repository root:
#   source ~/.cache/sj/env.sh && bash sj-lib/benches/compare_stdp.sh [--iters N]
source "$(dirname "${BASH_SOURCE[0]}")/../../tests/bench/common.sh"
out="$(mktemp -d)"
iters=10; prev=""; for a in "$@"; do [ "$prev" = "--iters" ] && iters="$a"; prev="$a"; done
cargo build -q --release -p sj --example stdp_timing
spikingjelly "$SJ_ROOT/sj-lib/benches/stdp_spikingjelly.py" --iters "$iters" > "$out/py.jsonl"
"$CARGO_TARGET_DIR/release/examples/stdp_timing" --iters "$iters" > "$out/rs.jsonl"
ratios "$out/py.jsonl" "$out/rs.jsonl" case,step_mode ms
rm -rf "$out"
