#!/usr/bin/env bash
# The CUDA checks and H200 timings of the fused kernels, for a session that is lent the GPU machine
# (torch 2.11.0+cu130 there, no Rust). Here, from the repository root:
#   source ~/.cache/sj/env.sh && bash sj-lib/benches/gpu_check.sh --prepare
# builds sj's `cuda_check` example and copies it into .gpu/ (ignored by git); then one device call:
#   run(command="bash sj-lib/benches/gpu_check.sh", carry=[".gpu"], timeout_s=420)
# prints the GPU, runs the binary against the machine's libtorch and NVRTC and keeps the JSON lines
# in $OUT/cuda_check.jsonl (exit 1: a float32 comparison failed; 2: CUDA not available).
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
if [ "${1:-}" = "--prepare" ]; then
  cargo build -q --release -p sj --example cuda_check && mkdir -p .gpu &&
    cp "$CARGO_TARGET_DIR/release/examples/cuda_check" .gpu/ && ls -la .gpu
  exit
fi
site=$(python3 -c 'import os, torch; print(os.path.dirname(os.path.dirname(torch.__file__)))')
export SJ_TORCH_LIB="$site/torch/lib"
export LD_LIBRARY_PATH="$site/torch/lib:$(ls -d "$site"/nvidia/*/lib 2>/dev/null | paste -sd:)${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader
python3 -c 'import torch; print("torch", torch.__version__, "cuda", torch.version.cuda)'
out="${OUT:-/tmp}/cuda_check.jsonl"
.gpu/cuda_check | tee "$out"
rc=${PIPESTATUS[0]}
grep -c '"pass": true' "$out" | sed 's/^/passing comparisons: /'
grep '"pass": false' "$out" | head -20
grep '"timing"' "$out"
exit "$rc"
