#!/usr/bin/env bash
# Set up (idempotent) and start JupyterLab on the notebooks folder with the "Rust (sj)" kernel as
# the default. JupyterLab prints the URL to open (with its token); Ctrl-C stops it.
#   ./lab.sh                      # http://localhost:8888/lab?token=...
#   ./lab.sh --port 9999          # any `jupyter lab` option is passed on
#   ./lab.sh --ip 0.0.0.0 --no-browser   # reachable from other machines (mind the token)
# SJ_LAB_DIR picks another folder to serve (the browser test serves a scratch copy).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
source ./setup.sh
sj_setup
dir="${SJ_LAB_DIR:-$PWD/notebooks}"
echo "[sj lab] JupyterLab $JUPYTERLAB_VERSION on $dir, kernel \"Rust (sj)\"; open the URL printed below." >&2
echo "[sj lab] The first \`:dep sj\` of a session reuses the kernel's build cache ($SJ_EVCXR_BUILD)." >&2
# JupyterLab refuses to run as root unless told; containers and CI machines often are root.
as_root=()
[ "$(id -u)" -eq 0 ] && as_root=(--allow-root)
exec jupyter lab \
  --ServerApp.root_dir="$dir" \
  --MappingKernelManager.default_kernel_name=sj-rust \
  "${as_root[@]}" \
  "$@"
