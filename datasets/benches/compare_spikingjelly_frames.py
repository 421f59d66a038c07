"""Benchmark case E: event-to-frame integration throughput, sj against SpikingJelly 0.0.0.0.14.

The real N-MNIST recording ../shared/data/neuromorphic/sample_nmnist.bin (4325 events, 34 x 34),
read with SpikingJelly's `load_ATIS_bin`, is replicated `--copies` times exactly as
datasets/examples/frames_throughput.rs does it, and integrated by SpikingJelly's own
`integrate_events_by_fixed_frames_number` (16 frames, split by 'number' and by 'time') and
`integrate_events_by_fixed_duration` (100 ms):

* stream/*       one long stream, copy k shifted by k*(t_max + 1) us;
* batch/*        `copies` separate samples, one after another;
* batch_par/*    the same samples on a ThreadPoolExecutor with SpikingJelly's worker count
                 (`configure.max_threads_number_for_datasets_preprocess`), its own way of going parallel;
* dataset_par/number16   `NMNIST(root, train=True, data_type='frame', frames_number=16,
                 split_by='number')` building its frame cache from an events_np/ of `copies` files.

SpikingJelly's cases run once (the result kept for the check), then `--reps` times; the Rust
example runs `--sj-reps` times after a warm-up; both report medians. The frames of every in-memory
case are checked equal (np.array_equal) to the ones sj dumps. Prints the JSON lines of both sides
(`emit` from ../shared/bench/common.py), then a markdown table. From the repository root:

    source ~/.cache/sj/env.sh
    cargo build --release -p sj-datasets --example frames_throughput
    python datasets/benches/compare_spikingjelly_frames.py [--copies 1000] [--reps 5] [--sj-reps 20]

The venv has no torchvision, scipy, matplotlib or tqdm, which `spikingjelly.datasets` imports at
the top but which none of the timed code uses: missing ones are replaced by empty stand-in modules
(`_stub_missing`), so that SpikingJelly's unmodified source runs.
"""
import argparse
import contextlib
import importlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import types
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[2]
SAMPLE = REPO.parent / "shared/data/neuromorphic/sample_nmnist.bin"
sys.path.insert(0, str(REPO.parent / "shared/bench"))
from common import emit, log, timeit  # noqa: E402

H = W = 34


class _Missing(types.ModuleType):
    """An uninstalled module: any attribute is a function that raises when called."""

    def __getattr__(self, attr):
        if attr.startswith("__"):
            raise AttributeError(attr)

        def unavailable(*args, **kwargs):
            raise RuntimeError(f"{self.__name__}.{attr}: {self.__name__} is not installed")

        return unavailable


class _DatasetFolder:
    """torchvision's DatasetFolder base class, without its scan of the sample files."""

    def __init__(self, root, *args, **kwargs):
        self.root = root


def _stub_missing():
    """Registers a `_Missing` module for each of SpikingJelly's top-level imports not installed."""
    for name in ["torchvision", "torchvision.datasets", "torchvision.datasets.utils", "torchvision.transforms",
                 "scipy", "scipy.io", "matplotlib", "matplotlib.pyplot", "tqdm"]:
        try:
            importlib.import_module(name)
        except ModuleNotFoundError:
            module = sys.modules[name] = _Missing(name)
            if name == "torchvision.datasets":
                module.DatasetFolder = _DatasetFolder
            parent, _, child = name.rpartition(".")
            if parent:
                setattr(sys.modules[parent], child, module)


_stub_missing()
import spikingjelly.datasets as sjds  # noqa: E402
from spikingjelly import configure  # noqa: E402
from spikingjelly.datasets.n_mnist import NMNIST  # noqa: E402

MODES = {
    "number16": lambda e: sjds.integrate_events_by_fixed_frames_number(e, "number", 16, H, W),
    "time16": lambda e: sjds.integrate_events_by_fixed_frames_number(e, "time", 16, H, W),
    "duration100ms": lambda e: sjds.integrate_events_by_fixed_duration(e, 100_000, H, W),
}


def stream(sample, copies):
    """`copies` copies of `sample` in one stream, copy k shifted by k*(t_max + 1) (int64 t)."""
    shift = int(sample["t"].max()) + 1
    t = np.concatenate([sample["t"].astype(np.int64) + k * shift for k in range(copies)])
    return {"t": t, **{key: np.tile(sample[key], copies) for key in ("x", "y", "p")}}


def par_map(f, items, workers):
    """`[f(e) for e in items]` on a thread pool of `workers`, as SpikingJelly's datasets go parallel."""
    with ThreadPoolExecutor(max_workers=workers) as tpe:
        return list(tpe.map(f, items))


def dataset_case(copies, reps, root):
    """Median seconds of NMNIST's frame-cache build from `copies` events_np files, and the fewest
    frame files a build wrote (SpikingJelly's thread pool drops its workers' exceptions)."""
    bin_file, first = root / "sample.bin", root / "events_np/train/0/00000.npz"
    shutil.copy(SAMPLE, bin_file)
    for digit in range(10):
        (root / f"events_np/train/{digit}").mkdir(parents=True)
    with contextlib.redirect_stdout(open(os.devnull, "w")):
        NMNIST.read_bin_save_to_np(str(bin_file), str(first))
    for k in range(1, copies):
        shutil.copy(first, root / f"events_np/train/{k % 10}/{k:05d}.npz")
    frames_root = root / "frames_number_16_split_by_number"

    def build():
        with contextlib.redirect_stdout(open(os.devnull, "w")):
            NMNIST(str(root), train=True, data_type="frame", frames_number=16, split_by="number")

    written = []

    def reset():
        written.append(sum(1 for _ in frames_root.rglob("*.npz")))
        shutil.rmtree(frames_root)

    median, _, _ = timeit(build, warmup=1, reps=reps, reset=reset)
    return median, min(written)


def run_sj(copies, reps, dump):
    """The Rust example's JSON lines (it dumps its frames into `dump`)."""
    exe = Path(os.environ["CARGO_TARGET_DIR"]) / "release/examples/frames_throughput"
    out = subprocess.run([str(exe), "--copies", str(copies), "--reps", str(reps), "--dump", str(dump)],
                         check=True, capture_output=True, text=True).stdout
    return {r["what"]: r for r in map(json.loads, out.splitlines())}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--copies", type=int, default=1000)
    ap.add_argument("--reps", type=int, default=5, help="SpikingJelly's timed runs")
    ap.add_argument("--sj-reps", type=int, default=20, help="sj's timed runs")
    args = ap.parse_args()
    raw = sjds.load_ATIS_bin(str(SAMPLE))
    long = stream(raw, args.copies)
    samples = [{key: v.copy() for key, v in raw.items()} for _ in range(args.copies)]
    n = long["t"].size
    workers = configure.max_threads_number_for_datasets_preprocess
    layouts = {
        "stream": lambda f: f(long),
        "batch": lambda f: [f(e) for e in samples],
        "batch_par": lambda f: par_map(f, samples, workers),
    }
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        log("running the Rust example ...")
        rs = run_sj(args.copies, args.sj_reps, tmp)
        py, checks = {}, []
        for mode, f in MODES.items():
            for layout, run in layouts.items():
                what = f"{layout}/{mode}"
                log(f"SpikingJelly {what} ...")
                frames = run(f)
                median, _, _ = timeit(lambda: run(f), warmup=0, reps=args.reps)
                py[what] = emit("E", lib="spikingjelly", what=what, events=n, ms=median * 1e3, events_per_s=n / median)
                mine = np.load(tmp / f"{layout}_{mode}.npz")["frames"]
                theirs = frames if layout == "stream" else frames[0]
                checks.append((what, mine.shape, np.array_equal(mine, theirs)))
        (tmp / "dataset").mkdir()
        log("SpikingJelly dataset_par/number16 ...")
        median, produced = dataset_case(args.copies, args.reps, tmp / "dataset")
        what = "dataset_par/number16"
        py[what] = emit("E", lib="spikingjelly", what=what, events=n, ms=median * 1e3, events_per_s=n / median,
                        workers=workers, files_written=produced)
    for r in rs.values():
        print(json.dumps(r))
    print(f"\n{args.copies} copies of sample_nmnist.bin ({raw['t'].size} events each, {n} in all); "
          f"SpikingJelly 0.0.0.0.14 median of {args.reps}, sj median of {args.sj_reps}; "
          f"loadavg {os.getloadavg()[0]:.2f}\n")
    print("| case | events | SpikingJelly ms | sj ms | ratio (SJ/sj) | SJ events/s | sj events/s |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for what, p in py.items():
        r = rs[what]
        print(f"| {what} | {n} | {p['ms']:.1f} | {r['ms']:.2f} | {p['ms'] / r['ms']:.1f} | "
              f"{p['events_per_s']:.3g} | {r['events_per_s']:.3g} |")
    print()
    for what, shape, equal in checks:
        print(f"frames equal ({what}, sj shape {list(shape)}): {equal}")
    if not all(c[2] for c in checks):
        sys.exit(1)


if __name__ == "__main__":
    main()
