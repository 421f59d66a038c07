//! Event-to-frame integration throughput (benchmark case E): the real N-MNIST recording
//! `../shared/data/neuromorphic/sample_nmnist.bin` (4325 events, 34 x 34) replicated `copies`
//! times, integrated by 16 frames split by number, 16 frames split by time, and 100 ms durations:
//!
//! * `stream/*`: one long stream, the copies concatenated, copy `k` shifted by `k·(t_max + 1)` µs;
//! * `batch/*`: `copies` separate samples, integrated one after another;
//! * `batch_par/*`: the same samples integrated in parallel with rayon;
//! * `dataset_par/number16`: the dataset-level conversion, [`NeuromorphicDatasetFolder::new`]
//!   building `frames_number_16_split_by_number/` from an `events_np/` of `copies` files
//!   (rayon over files, reading and writing compressed `.npz`).
//!
//! Each case runs once as a warm-up, then `reps` times; the median is printed as one JSON line
//! `{"case": "E", "lib": "sj", "what", "events", "ms", "events_per_s", "threads", "torch_threads"}`
//! (`threads`: rayon's pool; `torch_threads`: libtorch's intra-op pool, which fills each new frame
//! tensor with zeros before the frames are copied in).
//! `--dump DIR` saves each in-memory case's frames (the stream's, or the first sample's) as
//! `DIR/<layout>_<mode>.npz` for `datasets/benches/compare_spikingjelly_frames.py` to compare.
//!
//! `cargo build --release -p sj-datasets --example frames_throughput`, then
//! `$CARGO_TARGET_DIR/release/examples/frames_throughput [--copies 1000] [--reps 5] [--dump DIR]`
use rayon::prelude::*;
use serde_json::json;
use sj_datasets::neuromorphic::{
    integrate_events_by_fixed_duration, integrate_events_by_fixed_frames_number, load_atis_bin,
    save_frames_to_npz, DataType, Events, NeuromorphicDatasetFolder, SplitBy, NMNIST,
};
use sj_datasets::{DatasetError, Result};
use std::path::{Path, PathBuf};
use std::time::Instant;
use tch::Tensor;

/// N-MNIST's frame size.
const H: usize = 34;
const W: usize = 34;

/// An integration mode: events to frames.
type Integrate = fn(&Events) -> Result<Tensor>;

/// The three integration modes, by name.
const MODES: [(&str, Integrate); 3] = [
    ("number16", |e| {
        integrate_events_by_fixed_frames_number(e, SplitBy::Number, 16, H, W)
    }),
    ("time16", |e| {
        integrate_events_by_fixed_frames_number(e, SplitBy::Time, 16, H, W)
    }),
    ("duration100ms", |e| {
        integrate_events_by_fixed_duration(e, 100_000, H, W)
    }),
];

/// `copies` copies of `sample` in one stream, copy `k` shifted by `k·(t_max + 1)`.
fn stream(sample: &Events, copies: usize) -> Events {
    let shift = sample.t.iter().max().map_or(0, |&t| t + 1);
    let mut out = Events::default();
    for k in 0..copies as i64 {
        out.t.extend(sample.t.iter().map(|&t| t + k * shift));
        out.x.extend_from_slice(&sample.x);
        out.y.extend_from_slice(&sample.y);
        out.p.extend_from_slice(&sample.p);
    }
    out
}

/// Runs `f` once as a warm-up and then `reps` times; returns the median in ms and the last result.
fn median_ms<T>(reps: usize, mut f: impl FnMut() -> Result<T>) -> Result<(f64, T)> {
    let mut out = f()?;
    let mut ms = Vec::with_capacity(reps);
    for _ in 0..reps {
        let t0 = Instant::now();
        out = f()?;
        ms.push(t0.elapsed().as_secs_f64() * 1e3);
    }
    ms.sort_by(f64::total_cmp);
    Ok((ms[ms.len() / 2], out))
}

/// Prints one case's JSON line.
fn emit(what: &str, events: usize, ms: f64) {
    let line = json!({
        "case": "E", "lib": "sj", "what": what, "events": events, "ms": ms,
        "events_per_s": events as f64 / (ms / 1e3), "threads": rayon::current_num_threads(),
        "torch_threads": tch::get_num_threads(),
    });
    println!("{line}");
}

/// A `std::fs` result with its error as a [`DatasetError::Io`] naming `path`.
fn io<T>(path: &Path, r: std::io::Result<T>) -> Result<T> {
    r.map_err(|e| DatasetError::io(path, e))
}

/// Writes `copies` copies of `sample` as `root/events_np/train/<k mod 10>/<k>.npz` and returns
/// the median time of the `NeuromorphicDatasetFolder` conversion to 16 frames split by number.
fn dataset_case(sample: &Events, copies: usize, reps: usize, root: &Path) -> Result<f64> {
    for digit in 0..10 {
        let dir = root.join(format!("events_np/train/{digit}"));
        io(&dir, std::fs::create_dir_all(&dir))?;
    }
    let first = root.join("events_np/train/0/00000.npz");
    sample.save_npz(&first)?;
    for k in 1..copies {
        let file = root.join(format!("events_np/train/{}/{k:05}.npz", k % 10));
        io(&file, std::fs::copy(&first, &file))?;
    }
    let frames_root = root.join("frames_number_16_split_by_number");
    let (ms, _) = median_ms(reps, || {
        if frames_root.exists() {
            io(&frames_root, std::fs::remove_dir_all(&frames_root))?;
        }
        NeuromorphicDatasetFolder::new(
            NMNIST,
            root,
            Some(true),
            DataType::frames_number(16, SplitBy::Number),
        )
    })?;
    Ok(ms)
}

fn run(copies: usize, reps: usize, dump: Option<PathBuf>) -> Result<()> {
    let sample = load_atis_bin(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../shared/data/neuromorphic/sample_nmnist.bin"),
    )?;
    let long = stream(&sample, copies);
    let samples = vec![sample.clone(); copies];
    let save = |what: &str, frames: &Tensor| match &dump {
        Some(dir) => {
            save_frames_to_npz(dir.join(format!("{}.npz", what.replace('/', "_"))), frames)
        }
        None => Ok(()),
    };
    for (mode, integrate) in MODES {
        let (ms, frames) = median_ms(reps, || integrate(&long))?;
        emit(&format!("stream/{mode}"), long.len(), ms);
        save(&format!("stream/{mode}"), &frames)?;
        let (ms, frames) = median_ms(reps, || {
            samples.iter().map(integrate).collect::<Result<Vec<_>>>()
        })?;
        emit(&format!("batch/{mode}"), long.len(), ms);
        save(&format!("batch/{mode}"), &frames[0])?;
        let (ms, frames) = median_ms(reps, || {
            samples
                .par_iter()
                .map(integrate)
                .collect::<Result<Vec<_>>>()
        })?;
        emit(&format!("batch_par/{mode}"), long.len(), ms);
        save(&format!("batch_par/{mode}"), &frames[0])?;
    }
    let root = std::env::temp_dir().join(format!("sj_frames_throughput_{}", std::process::id()));
    let result = dataset_case(&sample, copies, reps, &root);
    if root.exists() {
        io(&root, std::fs::remove_dir_all(&root))?;
    }
    emit("dataset_par/number16", long.len(), result?);
    Ok(())
}

fn main() {
    let (mut copies, mut reps, mut dump) = (1000usize, 5usize, None);
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match (a.as_str(), args.next()) {
            ("--copies", Some(v)) if v.parse::<usize>().is_ok_and(|n| n > 0) => {
                copies = v.parse().unwrap()
            }
            ("--reps", Some(v)) if v.parse::<usize>().is_ok_and(|n| n > 0) => {
                reps = v.parse().unwrap()
            }
            ("--dump", Some(v)) => dump = Some(PathBuf::from(v)),
            _ => {
                eprintln!("usage: frames_throughput [--copies N] [--reps N] [--dump DIR]");
                std::process::exit(2);
            }
        }
    }
    if let Err(e) = run(copies, reps, dump) {
        eprintln!("frames_throughput: {e}");
        std::process::exit(1);
    }
}
