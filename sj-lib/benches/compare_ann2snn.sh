#!/usr/bin/env bash
# ann2snn, sj against Python SpikingJelly 2.0.0 in one run (issue 11's workloads): conversion of the
# tutorial's mnist_cnn over 600 batches of 100 (modes max and 99.9%) and T=50 inference of the
# converted SNN on a batch of 100. From the repository root:
#   source ~/.cache/sj/env.sh && bash sj-lib/benches/compare_ann2snn.sh [--iters N]
source "$(dirname "${BASH_SOURCE[0]}")/../../tests/bench/common.sh"
out="$(mktemp -d)"
iters=3; prev=""; for a in "$@"; do [ "$prev" = "--iters" ] && iters="$a"; prev="$a"; done
cargo build -q --release -p sj --example ann2snn_timing
spikingjelly "$SJ_ROOT/sj-lib/benches/ann2snn_spikingjelly.py" --iters "$iters" > "$out/py.jsonl"
"$CARGO_TARGET_DIR/release/examples/ann2snn_timing" --iters "$iters" > "$out/rs.jsonl"
ratios "$out/py.jsonl" "$out/rs.jsonl" case ms
rm -rf "$out"
