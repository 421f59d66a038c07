#!/usr/bin/env bash
# Set up (idempotent) and run the main job: execute the flagship notebook headless through the Rust
# kernel, write the executed copy to notebooks/executed/, and print its key result.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
source ./setup.sh
sj_setup
python tests/notebooks.py run notebooks/00_quickstart.ipynb --out notebooks/executed
