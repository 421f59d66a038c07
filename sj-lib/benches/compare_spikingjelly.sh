#!/usr/bin/env bash
# Training and inference throughput of the T8/T9 tutorial networks, sj against Python SpikingJelly
# 2.0.0 on ../shared/bench cases B (lif_fc_mnist, T=100, batch 64, both step modes) and C (the
# conv_fashion_mnist CSNN, T=4, channels 128 and 32, batch 64), in one run. From the repository root:
#   source ~/.cache/sj/env.sh && bash sj-lib/benches/compare_spikingjelly.sh [--iters N] [--same-malloc]
source "$(dirname "${BASH_SOURCE[0]}")/../../tests/bench/common.sh"
out="$(mktemp -d)"
iters=20; prev=""; for a in "$@"; do [ "$prev" = "--iters" ] && iters="$a"; prev="$a"; done
cargo build -q --release -p sj --example tutorial_throughput
spikingjelly b_fc_mnist.py --iters "$iters" > "$out/py.jsonl"
spikingjelly c_conv_fmnist.py --iters "$iters" >> "$out/py.jsonl"
"$CARGO_TARGET_DIR/release/examples/tutorial_throughput" --iters "$iters" > "$out/rs.jsonl"
ratios "$out/py.jsonl" "$out/rs.jsonl" case,step_mode,channels,kind samples_per_s
rm -rf "$out"
