#!/usr/bin/env bash
# The model zoo, sj against Python SpikingJelly 2.0.0 in one run (issue 12's workloads): forward +
# backward of spiking_resnet18 and sew_resnet18 (IF neurons, step mode 'm', T=4, batch 8, 3x64x64),
# and sj's Trainer overhead per iteration. From the repository root:
#   source ~/.cache/sj/env.sh && bash sj-lib/benches/compare_model_zoo.sh [--iters N]
source "$(dirname "${BASH_SOURCE[0]}")/../../tests/bench/common.sh"
out="$(mktemp -d)"
iters=5; prev=""; for a in "$@"; do [ "$prev" = "--iters" ] && iters="$a"; prev="$a"; done
cargo build -q --release -p sj --example model_zoo_timing
spikingjelly "$SJ_ROOT/sj-lib/benches/model_zoo_spikingjelly.py" --iters "$iters" > "$out/py.jsonl"
"$CARGO_TARGET_DIR/release/examples/model_zoo_timing" --iters "$iters" > "$out/rs.jsonl"
grep -v trainer_overhead "$out/rs.jsonl" > "$out/rs_cases.jsonl"
ratios "$out/py.jsonl" "$out/rs_cases.jsonl" case ms
echo "sj Trainer overhead (one epoch of 8 batches of 8 through Trainer::fit against a bare loop):"
grep trainer_overhead "$out/rs.jsonl"
rm -rf "$out"
