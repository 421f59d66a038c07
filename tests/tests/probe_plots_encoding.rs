//! Issue 19, "nothing a notebook user types may kill the kernel": the plots (sj_plots and
//! sj::visualizing), the encoders, the training utilities and the progress/display helpers called
//! with bad input (wrong rank, T = 0, empty tensors and slices, float64/int64/bool tensors, NaN and
//! inf, non-contiguous views, absurd sizes, negative and zero parameters). Every probe is either an
//! `Err` whose message names the function or module (and, where it matters, the fix), or an `Ok`
//! whose value is checked and whose reason is given in a comment. The counts are printed at the end.
use sj::datasets::{DataLoader, ImageDataset, ToTensor};
use sj::encoding::{
    LatencyEncoder, PeriodicEncoder, PoissonEncoder, WeightedPhaseEncoder, MAX_LATENCY_T,
    MAX_PHASES,
};
use sj::polars::prelude::{Column, DataFrame};
use sj::prelude::*;
use sj::training::{
    Adam, Checkpoint, EpochRecord, Loss, LrSchedule, Optimizer, TrainLog, Trainer, SGD,
};
use sj_plots::{Grid, Run, Series};
use std::fmt::Display;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

/// The probe tally: every probe is counted as an asserted `Err` or a documented `Ok`.
#[derive(Default)]
struct Probes {
    errs: usize,
    oks: usize,
}

impl Probes {
    /// A probe that must fail with a message containing each of `needles`; returns the message.
    #[track_caller]
    fn err<T, E: Display>(&mut self, r: Result<T, E>, needles: &[&str]) -> String {
        self.errs += 1;
        let message = match r {
            Ok(_) => panic!("expected an Err mentioning {needles:?}, got Ok"),
            Err(e) => e.to_string(),
        };
        for needle in needles {
            assert!(
                message.contains(needle),
                "{message:?} does not mention {needle:?}"
            );
        }
        message
    }

    /// A probe whose `Ok` is documented at the call; returns the value for the caller to check.
    #[track_caller]
    fn ok<T, E: Display>(&mut self, r: Result<T, E>) -> T {
        self.oks += 1;
        r.unwrap_or_else(|e| panic!("expected a documented Ok, got Err: {e}"))
    }

    /// A probe of a call that cannot fail by its type (no `Result`), with its documented outcome.
    #[track_caller]
    fn holds(&mut self, outcome: bool, what: &str) {
        self.oks += 1;
        assert!(outcome, "{what}");
    }
}

fn f32s(t: &Tensor) -> Vec<f32> {
    Vec::<f32>::try_from(&t.to_kind(Kind::Float).flatten(0, -1)).unwrap()
}

fn grid(data: Vec<f32>, rows: usize, cols: usize) -> Grid {
    Grid::new(data, rows, cols).unwrap()
}

/// A fresh directory for this test's files.
fn scratch() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("sj-probe-plots-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A 2^40-element tensor that takes no memory (a broadcast view of one zero).
fn huge(shape: &[i64]) -> Tensor {
    let ones = vec![1i64; shape.len()];
    Tensor::zeros(ones.as_slice(), (Kind::Float, Device::Cpu)).expand(shape, false)
}

fn sj_plots_grids_and_heatmaps(p: &mut Probes) {
    p.err(Grid::new(vec![], 0, 3), &["Grid", "empty"]);
    p.err(Grid::new(vec![1.0; 3], 2, 2), &["Grid", "do not fill"]);
    // rows * cols overflows usize: an error, not an overflow panic.
    p.err(Grid::new(vec![1.0; 2], usize::MAX, 2), &["Grid"]);
    let g = grid(vec![1.0, 2.0, 3.0, 4.0], 2, 2);
    p.holds(g.get(1, 0) == Some(3.0), "Grid::get inside");
    p.holds(
        g.get(2, 0).is_none() && g.get(0, usize::MAX).is_none(),
        "Grid::get outside is None",
    );

    let nan = grid(vec![1.0, f32::NAN], 2, 1);
    let inf = grid(vec![f32::NEG_INFINITY, 1.0], 1, 2);
    p.err(
        sj_plots::plot_2d_heatmap(&nan, "h", "t", "n"),
        &["plot_2d_heatmap", "non-finite"],
    );
    p.err(
        sj_plots::plot_2d_heatmap(&inf, "h", "t", "n"),
        &["plot_2d_heatmap", "non-finite"],
    );
    // All values equal: the colour scale has zero span; every cell is the low end (documented Ok).
    let flat = p.ok(sj_plots::plot_2d_heatmap(
        &grid(vec![0.5; 6], 2, 3),
        "h",
        "t",
        "n",
    ));
    assert!(flat.svg().contains("#440154"));

    // Issue 19 item 6: a [1000, 4096] heat map was a 343 MB SVG string. Now the cells are one
    // embedded image: the SVG stays small and the figure still shows the data (left half of the
    // steps low, right half high).
    let (t, n) = (1000, 4096);
    let values: Vec<f32> = (0..t * n)
        .map(|k| if k / n < t / 2 { 0.0 } else { 1.0 })
        .collect();
    let big = p.ok(sj_plots::plot_2d_heatmap(
        &grid(values, t, n),
        "big",
        "t",
        "n",
    ));
    assert!(
        big.svg().len() < 1 << 20,
        "SVG of {} bytes",
        big.svg().len()
    );
    assert_eq!(big.svg().matches("<image").count(), 1);
    assert_eq!(big.size(), (820, 440));
    let row = 200;
    let (low, high) = (big.pixel(150, row).unwrap(), big.pixel(600, row).unwrap());
    assert_eq!(
        (low, high),
        ([68, 1, 84], [253, 231, 37]),
        "min and max colours drawn"
    );
    // Below the bound a heat map still draws one rectangle per cell, no image.
    assert!(!flat.svg().contains("<image"));
}

fn sj_plots_spikes_bars_and_maps(p: &mut Probes) {
    let spikes = |v: Vec<f32>, t, n| sj_plots::plot_1d_spikes(&grid(v, t, n), "r", "t", "n", true);
    p.err(
        spikes(vec![f32::NAN, 0.0], 2, 1),
        &["plot_1d_spikes", "non-finite"],
    );
    p.err(
        spikes(vec![0.0; 4097], 1, 4097),
        &["plot_1d_spikes", "4096"],
    );
    // Any non-zero value is a spike; rates outside [0, 1] (counts, negatives) still draw (Ok).
    let odd = p.ok(spikes(vec![2.0, -1.0, 0.0, 0.0], 2, 2));
    assert!(odd.ink() > 0.0);
    // A dense raster (a million spikes) is one embedded image, not a million rectangles.
    let dense = p.ok(spikes(vec![1.0; 1000 * 1000], 1000, 1000));
    assert!(
        dense.svg().len() < 1 << 20 && dense.svg().contains("<image"),
        "{}",
        dense.svg().len()
    );

    let bars = |g: Grid| sj_plots::plot_2d_bar_in_3d(&g, "b", "t", "n", "v");
    p.err(
        bars(grid(vec![1.0; 4097], 1, 4097)),
        &["plot_2d_bar_in_3d", "plot_2d_heatmap"],
    );
    p.err(
        bars(grid(vec![f32::INFINITY, 1.0], 1, 2)),
        &["plot_2d_bar_in_3d", "non-finite"],
    );
    // Only zeros: no bar, an empty 3-D box (documented Ok).
    p.ok(bars(grid(vec![0.0; 4], 2, 2)));

    // Issue 19 item 4: a huge `space` overflowed (H + space) * nrows and then indexed out of bounds.
    let fm = |maps: &[Grid], nrows, ncols, space| {
        sj_plots::plot_2d_feature_map(maps, nrows, ncols, space, "f")
    };
    let one = [grid(vec![0.0, 1.0, 1.0, 0.0], 2, 2)];
    p.err(
        fm(&one, 1, 1, usize::MAX),
        &["plot_2d_feature_map", "cells"],
    );
    p.err(fm(&one, 1, 1, 1 << 40), &["plot_2d_feature_map", "cells"]);
    p.err(
        fm(&one, usize::MAX, 2, 0),
        &["plot_2d_feature_map", "nrows * ncols"],
    );
    p.err(fm(&[], 0, 0, 0), &["plot_2d_feature_map", "C = 0"]);
    p.err(
        fm(&[one[0].clone(), grid(vec![0.0; 3], 1, 3)], 1, 2, 0),
        &["plot_2d_feature_map", "map 1"],
    );
    p.err(
        fm(&[grid(vec![f32::NAN], 1, 1)], 1, 1, 0),
        &["plot_2d_feature_map", "non-finite"],
    );
    // 64 maps of 128 x 128 (1040 x 1040 cells tiled): drawn scaled down as one image that fits
    // about 800 x 520 px (Ok; it used to be an error above 2^18 cells).
    let maps: Vec<Grid> = (0..64)
        .map(|c| grid(vec![c as f32; 128 * 128], 128, 128))
        .collect();
    let tiled = p.ok(fm(&maps, 8, 8, 2));
    assert!(
        tiled.size().0 <= 840 && tiled.size().1 <= 600,
        "{:?}",
        tiled.size()
    );
    assert!(tiled.svg().contains("<image") && tiled.svg().len() < 1 << 20);
    // Map 0 (black) is at the top left, map 63 (white) at the bottom right.
    let (w, h) = tiled.size();
    assert_eq!(tiled.pixel(30, 70).unwrap(), [0, 0, 0]);
    assert_eq!(tiled.pixel(w - 30, h - 45).unwrap(), [255, 255, 255]);
}

fn sj_plots_curves_and_confusion(p: &mut Probes) {
    let v = [0.0f32, 0.5, 1.2];
    let vs = |s: &[f32], thr: f64, reset: Option<f64>| {
        sj_plots::plot_one_neuron_v_s(&v, s, thr, reset, "n")
    };
    p.err(
        sj_plots::plot_one_neuron_v_s(&[], &[], 1.0, None, "n"),
        &["plot_one_neuron_v_s", "> 0"],
    );
    p.err(
        vs(&[0.0; 2], 1.0, None),
        &["plot_one_neuron_v_s", "v has 3 steps and s has 2"],
    );
    p.err(
        vs(&[0.0, f32::NAN, 1.0], 1.0, None),
        &["plot_one_neuron_v_s", "non-finite"],
    );
    p.err(
        vs(&[0.0; 3], f64::NAN, None),
        &["plot_one_neuron_v_s", "v_threshold"],
    );
    p.err(
        vs(&[0.0; 3], 1.0, Some(f64::INFINITY)),
        &["plot_one_neuron_v_s", "v_reset"],
    );
    let long = vec![0.0f32; sj_plots::MAX_POINTS + 1];
    p.err(
        sj_plots::plot_one_neuron_v_s(&long, &long, 1.0, None, "n"),
        &["plot_one_neuron_v_s", "step_by"],
    );

    let x = [0.0f32, 1.0];
    let curve = |y: Vec<f32>| vec![Series::new("a", y)];
    p.err(
        sj_plots::plot_curves(&[], &[], "c", "x", "y"),
        &["plot_curves", "at least one"],
    );
    p.err(
        sj_plots::plot_curves(&x, &curve(vec![1.0]), "c", "x", "y"),
        &["plot_curves", "'a' has 1 values"],
    );
    p.err(
        sj_plots::plot_curves(&[f32::NAN, 1.0], &curve(vec![1.0, 2.0]), "c", "x", "y"),
        &["plot_curves", "non-finite"],
    );
    let many_x = vec![0.0f32; 1 << 17];
    let many = vec![
        Series::new("a", many_x.clone()),
        Series::new("b", many_x.clone()),
        Series::new("c", many_x.clone()),
    ];
    p.err(
        sj_plots::plot_curves(&many_x, &many, "c", "x", "y"),
        &["plot_curves", "points are more than"],
    );
    // One point: the x range is widened to [x, x + 1] (documented Ok).
    p.ok(sj_plots::plot_curves(
        &[3.0],
        &curve(vec![1.0]),
        "c",
        "x",
        "y",
    ));

    let mut run = Run::new("r");
    run.push(0, 1.0, 1.0, 0.5, 0.5);
    let mut nan_run = run.clone();
    nan_run.train_loss[0] = f32::NAN;
    p.err(
        sj_plots::plot_training_curves(&[], "t"),
        &["plot_training_curves", "no runs"],
    );
    p.err(
        sj_plots::plot_training_curves(&[nan_run], "t"),
        &["plot_training_curves", "non-finite"],
    );
    p.err(
        sj_plots::plot_training_curves(&[Run::new("e")], "t"),
        &["plot_training_curves", "no epochs"],
    );
    let mut long_run = Run::new("long");
    (0..(1 << 16) + 1).for_each(|e| long_run.push(e, 1.0, 1.0, 0.5, 0.5));
    p.err(
        sj_plots::plot_training_curves(&[long_run], "t"),
        &["plot_training_curves", "points"],
    );

    p.err(
        sj_plots::confusion_matrix(&[0], &[0], 0),
        &["confusion_matrix", "num_classes"],
    );
    // num_classes^2 would overflow or allocate terabytes.
    p.err(
        sj_plots::confusion_matrix(&[0], &[0], 1 << 40),
        &["confusion_matrix", "num_classes"],
    );
    p.err(
        sj_plots::confusion_matrix(&[], &[], 3),
        &["confusion_matrix", "both must be equal and > 0"],
    );
    p.err(
        sj_plots::confusion_matrix(&[0, 7], &[0, 1], 3),
        &["confusion_matrix", "class 7"],
    );
    let m = grid(vec![3.0, 1.0, 0.0, 2.0], 2, 2);
    let cm = |m: &Grid, names: &[&str]| sj_plots::plot_confusion_matrix(m, names, false, "c");
    // Issue 19 item 6: fewer (or more) names than classes used to label some classes by index.
    p.err(
        cm(&m, &["cat"]),
        &["plot_confusion_matrix", "1 class names for 2 classes"],
    );
    p.err(
        cm(&m, &["a", "b", "c"]),
        &["plot_confusion_matrix", "3 class names for 2 classes"],
    );
    p.err(
        cm(&grid(vec![1.0; 6], 2, 3), &[]),
        &["plot_confusion_matrix", "square"],
    );
    p.err(
        cm(&grid(vec![-1.0, 0.0, 0.0, 1.0], 2, 2), &[]),
        &["plot_confusion_matrix", ">= 0"],
    );
    // 300 classes: 90,000 cells drawn as one image, axis labels thinned out (Ok).
    let k = 300;
    let diag: Vec<f32> = (0..k * k)
        .map(|i| if i / k == i % k { 5.0 } else { 0.0 })
        .collect();
    let big = p.ok(cm(&grid(diag, k, k), &[]));
    assert!(big.svg().contains("<image") && big.svg().len() < 1 << 20);
    // normalize with an all-zero row: the row stays 0 (documented in plot_confusion_matrix).
    p.ok(sj_plots::plot_confusion_matrix(
        &grid(vec![0.0, 0.0, 1.0, 1.0], 2, 2),
        &[],
        true,
        "c",
    ));
}

fn sj_plots_frames_and_figures(p: &mut Probes, dir: &Path) {
    p.err(sj_plots::play_frame(&[], 0, 1, 1), &["play_frame", "T=0"]);
    p.err(
        sj_plots::play_frame(&[0.0; 4], 1, 1, 1),
        &["play_frame", "do not form"],
    );
    // t * 2 * h * w overflows usize: an error, not a panic.
    p.err(
        sj_plots::play_frame(&[0.0; 4], usize::MAX, 2, 2),
        &["play_frame", "do not form"],
    );
    p.err(
        sj_plots::play_frame(&[f32::NAN, 0.0], 1, 1, 1),
        &["play_frame", "non-finite"],
    );
    p.err(
        sj_plots::play_frame(&vec![0.0; 2 * 30_000], 1, 1, 30_000),
        &["play_frame", "too large"],
    );

    let f = p.ok(sj_plots::plot_2d_heatmap(
        &grid(vec![0.0, 1.0], 1, 2),
        "h",
        "t",
        "n",
    ));
    p.holds(
        f.pixel(0, 0).is_some() && f.pixel(820, 0).is_none() && f.pixel(0, u32::MAX).is_none(),
        "Figure::pixel outside is None",
    );
    p.err(
        f.save(dir.join("figure.txt")),
        &["Figure::save", ".png or .svg"],
    );
    p.err(
        f.save(dir.join("missing-dir").join("figure.png")),
        &["missing-dir"],
    );
    p.ok(f.save(dir.join("figure.svg")));
    assert!(std::fs::read_to_string(dir.join("figure.svg"))
        .unwrap()
        .starts_with("<svg"));
}

fn visualizing_tensors(p: &mut Probes) {
    use sj::visualizing as vis;
    let cpu = (Kind::Float, Device::Cpu);
    let t8n3 = Tensor::arange(24, cpu).view([8, 3]) / 24.0;
    p.err(
        vis::grid(&Tensor::zeros([4], cpu)),
        &["visualizing", "[rows, cols]"],
    );
    p.err(
        vis::plot_2d_heatmap(&Tensor::zeros([0, 3], cpu), "h", "t", "n"),
        &["plot_2d_heatmap", "1 to"],
    );
    p.err(
        vis::plot_2d_heatmap(&Tensor::zeros([2, 3, 4], cpu), "h", "t", "n"),
        &["plot_2d_heatmap", "[rows, cols]"],
    );
    p.err(
        vis::plot_2d_heatmap(&Tensor::from(1.0f32), "h", "t", "n"),
        &["plot_2d_heatmap", "[rows, cols]"],
    );
    // 2^40 cells (a broadcast view): refused before anything is copied.
    p.err(
        vis::plot_2d_heatmap(&huge(&[1 << 20, 1 << 20]), "h", "t", "n"),
        &["plot_2d_heatmap", "narrow"],
    );
    p.err(
        vis::plot_1d_spikes(&huge(&[1 << 20, 1 << 20]), "r", "t", "n", true),
        &["plot_1d_spikes", "narrow"],
    );
    p.err(
        vis::plot_2d_bar_in_3d(&huge(&[1 << 20, 1 << 20]), "b", "t", "n", "v"),
        &["plot_2d_bar_in_3d", "narrow"],
    );
    p.err(
        vis::plot_2d_bar_in_3d(&Tensor::zeros([6], cpu), "b", "t", "n", "v"),
        &["plot_2d_bar_in_3d", "[rows, cols]"],
    );
    // float64 beyond f32's range becomes inf when read as f32: non-finite.
    let big64 = Tensor::from_slice(&[1e300f64, 0.0]).view([1, 2]);
    p.err(
        vis::plot_2d_heatmap(&big64, "h", "t", "n"),
        &["plot_2d_heatmap", "non-finite"],
    );
    p.err(
        vis::plot_2d_heatmap(&t8n3.full_like(f64::NAN), "h", "t", "n"),
        &["plot_2d_heatmap", "non-finite"],
    );
    // Any dtype is read as f32: float64, int64 and bool tensors draw the same figure (Ok).
    let base = p
        .ok(vis::plot_1d_spikes(&t8n3.ge(0.5), "r", "t", "n", true))
        .pixel_hash();
    for kind in [Kind::Double, Kind::Int64, Kind::Uint8] {
        let f = p.ok(vis::plot_1d_spikes(
            &t8n3.ge(0.5).to_kind(kind),
            "r",
            "t",
            "n",
            true,
        ));
        assert_eq!(f.pixel_hash(), base, "{kind:?}");
    }
    // Non-contiguous views are read in their logical order: a transposed or narrowed view draws
    // what its contiguous copy draws.
    for view in [t8n3.tr(), t8n3.narrow(0, 2, 4), t8n3.tr().narrow(1, 1, 5)] {
        let a = p
            .ok(vis::plot_2d_heatmap(&view, "h", "t", "n"))
            .pixel_hash();
        let b = p
            .ok(vis::plot_2d_heatmap(&view.contiguous(), "h", "t", "n"))
            .pixel_hash();
        assert_eq!(a, b, "{:?}", view.size());
    }
    // [1000, 4096] through the tensor wrapper: one small SVG (issue 19 item 6).
    let big = p.ok(vis::plot_2d_heatmap(
        &Tensor::rand([1000, 4096], cpu),
        "big",
        "t",
        "n",
    ));
    assert!(big.svg().len() < 1 << 20);

    // Issue 19 item 6: a [T, N] record was flattened into one neuron of T·N steps.
    let v = t8n3.shallow_clone();
    let s = t8n3.ge(0.9).to_kind(Kind::Float);
    let msg = p.err(
        vis::plot_one_neuron_v_s(&v, &s, 1.0, Some(0.0), "n"),
        &["plot_one_neuron_v_s", "v.select(1, i)", "[8, 3]"],
    );
    assert!(msg.contains("one neuron"), "{msg}");
    p.err(
        vis::plot_one_neuron_v_s(&v.select(1, 0), &s, 1.0, None, "n"),
        &["plot_one_neuron_v_s", "s.select(1, i)"],
    );
    p.err(
        vis::plot_one_neuron_v_s(&Tensor::from(0.5f32), &Tensor::from(0.0f32), 1.0, None, "n"),
        &["plot_one_neuron_v_s", "[T]"],
    );
    p.err(
        vis::plot_one_neuron_v_s(
            &Tensor::zeros([0], cpu),
            &Tensor::zeros([0], cpu),
            1.0,
            None,
            "n",
        ),
        &["plot_one_neuron_v_s", "1 to"],
    );
    p.err(
        vis::plot_one_neuron_v_s(
            &v.select(1, 0),
            &s.select(1, 0).narrow(0, 0, 7),
            1.0,
            None,
            "n",
        ),
        &["plot_one_neuron_v_s", "8 steps and s has 7"],
    );
    p.err(
        vis::plot_one_neuron_v_s(&huge(&[1 << 40]), &huge(&[1 << 40]), 1.0, None, "n"),
        &["plot_one_neuron_v_s", "narrow"],
    );
    // One neuron as [T], [T, 1] (a selected column kept 2-D) or int64 spikes: the same figure (Ok).
    let one = p.ok(vis::plot_one_neuron_v_s(
        &v.select(1, 2),
        &s.select(1, 2),
        1.0,
        Some(0.0),
        "n",
    ));
    let col = p.ok(vis::plot_one_neuron_v_s(
        &v.narrow(1, 2, 1),
        &s.narrow(1, 2, 1).to_kind(Kind::Int64),
        1.0,
        Some(0.0),
        "n",
    ));
    assert_eq!(one.pixel_hash(), col.pixel_hash());

    // Issue 19 item 4: H or W = 0 divided the values into chunks of 0 (a panic).
    let fm =
        |x: &Tensor, nrows, ncols, space| vis::plot_2d_feature_map(x, nrows, ncols, space, "f");
    p.err(
        fm(&Tensor::zeros([2, 0, 3], cpu), 1, 2, 1),
        &["plot_2d_feature_map", "H=0"],
    );
    p.err(
        fm(&Tensor::zeros([2, 3, 0], cpu), 1, 2, 1),
        &["plot_2d_feature_map", "W=0"],
    );
    p.err(
        fm(&Tensor::zeros([0, 2, 2], cpu), 0, 0, 0),
        &["plot_2d_feature_map", "0 values"],
    );
    p.err(
        fm(&Tensor::zeros([2, 3], cpu), 1, 2, 0),
        &["plot_2d_feature_map", "[C, H, W]"],
    );
    p.err(
        fm(&huge(&[1 << 14, 1 << 13, 1 << 13]), 128, 128, 0),
        &["plot_2d_feature_map", "narrow"],
    );
    p.err(
        fm(&Tensor::zeros([2, 2, 2], cpu), 1, 2, usize::MAX),
        &["plot_2d_feature_map", "cells"],
    );
    p.err(
        fm(&Tensor::zeros([2, 2, 2], cpu), usize::MAX, usize::MAX, 0),
        &["plot_2d_feature_map", "nrows * ncols"],
    );
    // A transposed [C, W, H] view tiles what its contiguous copy tiles.
    let maps = Tensor::arange(2 * 3 * 4, cpu).view([2, 3, 4]);
    let a = p.ok(fm(&maps.transpose(1, 2), 1, 2, 1)).pixel_hash();
    let b = p
        .ok(fm(&maps.transpose(1, 2).contiguous(), 1, 2, 1))
        .pixel_hash();
    assert_eq!(a, b);

    let labels = Tensor::from_slice(&[0i64, 1, 2, 2]);
    let cm = |pred: &Tensor, lab: &Tensor, k: usize, names: &[&str]| {
        vis::plot_confusion_matrix(pred, lab, k, names, false, "c")
    };
    p.err(
        cm(&labels, &labels, 3, &["a", "b"]),
        &["plot_confusion_matrix", "2 class names for 3 classes"],
    );
    p.err(
        cm(&labels, &labels, 0, &[]),
        &["confusion_matrix", "num_classes"],
    );
    p.err(
        cm(&labels, &labels, 1 << 40, &[]),
        &["confusion_matrix", "num_classes"],
    );
    p.err(
        cm(&Tensor::from_slice(&[0i64, 1, -1, 2]), &labels, 3, &[]),
        &["plot_confusion_matrix", "integers >= 0"],
    );
    p.err(
        cm(
            &Tensor::from_slice(&[0.5f32, 1.0, 2.0, 2.0]),
            &labels,
            3,
            &[],
        ),
        &["plot_confusion_matrix", "integers >= 0"],
    );
    p.err(
        cm(
            &Tensor::from_slice(&[0.0f64, f64::NAN, 2.0, 2.0]),
            &labels,
            3,
            &[],
        ),
        &["plot_confusion_matrix", "finite"],
    );
    p.err(
        cm(&Tensor::zeros([4, 2], cpu), &labels, 3, &[]),
        &["plot_confusion_matrix", "[N, 3] scores"],
    );
    p.err(
        cm(&Tensor::zeros([0], cpu), &Tensor::zeros([0], cpu), 3, &[]),
        &["confusion_matrix", "> 0"],
    );
    p.err(
        cm(&Tensor::from(1i64), &labels, 3, &[]),
        &["plot_confusion_matrix", "[N] class indices"],
    );
    // Scores as a transposed view: argmax of its logical rows (Ok, same as the contiguous copy).
    let scores = Tensor::rand([3, 4], cpu);
    let a = p
        .ok(cm(&scores.tr(), &labels, 3, &["a", "b", "c"]))
        .pixel_hash();
    let b = p
        .ok(cm(&scores.tr().contiguous(), &labels, 3, &["a", "b", "c"]))
        .pixel_hash();
    assert_eq!(a, b);
}

/// `enc` called `steps` times on `x`, each output as values.
fn run(enc: &mut dyn Module, x: &Tensor, steps: usize) -> Vec<Vec<f32>> {
    (0..steps).map(|_| f32s(&enc.forward(x).unwrap())).collect()
}

fn encoders(p: &mut Probes) {
    let cpu = (Kind::Float, Device::Cpu);
    let x01 = Tensor::from_slice(&[0.0f32, 1.0, 1.0, 0.0, 1.0, 0.0]).view([2, 3]);

    let mut poisson = PoissonEncoder::new();
    p.err(
        poisson.forward(&Tensor::from_slice(&[0i64, 1])),
        &["PoissonEncoder", "floating-point"],
    );
    p.err(
        poisson.forward(&Tensor::from_slice(&[0.5f64, f64::NAN])),
        &["PoissonEncoder", "[0, 1]"],
    );
    p.err(
        poisson.forward(&Tensor::from_slice(&[0.5f32, 1.5])),
        &["PoissonEncoder", "1.5"],
    );
    p.err(
        poisson.forward(&Tensor::from_slice(&[f32::INFINITY])),
        &["PoissonEncoder", "[0, 1]"],
    );
    p.err(
        poisson.forward(&Tensor::from(0.5f32)),
        &["PoissonEncoder", "[N, *]"],
    );
    p.err(
        PoissonEncoder::new()
            .with_step_mode(StepMode::M)
            .forward(&Tensor::zeros([3], cpu)),
        &["PoissonEncoder", "[T, N, *]"],
    );
    // An empty batch encodes to an empty spike tensor of its shape (Ok: nothing to sample).
    let empty = p.ok(poisson.forward(&Tensor::zeros([0, 4], cpu)));
    assert_eq!(empty.size(), [0, 4]);
    // T = 0 steps in step mode 'm': an empty sequence (Ok).
    let empty = p.ok(PoissonEncoder::new()
        .with_step_mode(StepMode::M)
        .forward(&Tensor::zeros([0, 2], cpu)));
    assert_eq!(empty.size(), [0, 2]);
    // Probabilities 0 and 1 are certain, so a non-contiguous view must give exactly its values.
    for view in [
        x01.tr(),
        x01.narrow(1, 1, 2),
        x01.tr().narrow(0, 1, 2),
        x01.view([1, 6]).expand([4, 6], false),
    ] {
        let s = p.ok(poisson.forward(&view));
        assert_eq!(f32s(&s), f32s(&view), "{:?}", view.size());
    }
    // float64 stays float64 (Ok).
    assert_eq!(
        p.ok(poisson.forward(&x01.to_kind(Kind::Double))).kind(),
        Kind::Double
    );

    p.err(LatencyEncoder::new(0), &["LatencyEncoder", "T"]);
    p.err(LatencyEncoder::new(-3), &["LatencyEncoder", "got -3"]);
    p.err(LatencyEncoder::new(1 << 40), &["LatencyEncoder", "2^24"]);
    p.err(
        LatencyEncoder::new(MAX_LATENCY_T + 1),
        &["LatencyEncoder", "in 1..="],
    );
    p.err(
        LatencyEncoder::new(5).unwrap().with_enc_function("exp"),
        &["LatencyEncoder", "'exp'"],
    );
    p.err(
        LatencyEncoder::new(1000).unwrap().with_enc_function("log"),
        &["LatencyEncoder", "too large"],
    );
    let mut lat = LatencyEncoder::new(4).unwrap();
    p.err(
        lat.forward(&Tensor::from_slice(&[1i64])),
        &["LatencyEncoder", "floating-point"],
    );
    p.err(
        lat.forward(&Tensor::from_slice(&[0.5f32, f32::NAN])),
        &["LatencyEncoder", "NaN"],
    );
    p.err(
        lat.forward(&Tensor::from_slice(&[-0.5f32])),
        &["LatencyEncoder", "[0, 1]"],
    );
    p.err(
        lat.forward(&Tensor::from(0.5f32)),
        &["LatencyEncoder", "[N, *]"],
    );
    // An empty batch: a spike train of empty steps (Ok).
    assert_eq!(p.ok(lat.forward(&Tensor::zeros([0], cpu))).size(), [0]);
    sj::functional::reset_net(&mut lat);
    // A transposed view encodes its logical values: t_f = 3·(1 − x).
    let x = Tensor::from_slice(&[0.0f32, 1.0, 1.0 / 3.0, 2.0 / 3.0]).view([2, 2]);
    let a = run(&mut lat, &x.tr(), 4);
    sj::functional::reset_net(&mut lat);
    let b = run(&mut lat, &x.tr().contiguous(), 4);
    assert_eq!(a, b);
    assert_eq!(a[0], [0.0, 0.0, 1.0, 0.0], "x = 1 fires at 0");
    p.holds(a == b, "LatencyEncoder on a transposed view");
    // float64 input keeps its dtype; T = 1 fires every element at step 0 (Ok).
    let mut lat1 = LatencyEncoder::new(1).unwrap();
    let s = p.ok(lat1.forward(&Tensor::from_slice(&[0.0f64, 0.3, 1.0])));
    assert_eq!((s.kind(), f32s(&s)), (Kind::Double, vec![1.0, 1.0, 1.0]));
    // A new shape without reset_net is a stale-state error naming the fix.
    p.err(
        lat1.forward(&Tensor::from_slice(&[0.0f64, 0.3])),
        &["LatencyEncoder", "reset_net"],
    );
    // Step mode 'm' with no steps: nothing encoded, an empty sequence (Ok).
    let mut lat_m = LatencyEncoder::new(4).unwrap().with_step_mode(StepMode::M);
    assert_eq!(
        p.ok(lat_m.forward(&Tensor::zeros([0, 3], cpu))).size(),
        [0, 3]
    );
    p.err(
        lat_m.forward(&Tensor::zeros([3], cpu)),
        &["LatencyEncoder", "[T, N, *]"],
    );

    // Issue 19 item 5: K = 2^40 reserved 2^40 tensors (terabytes) and aborted.
    p.err(
        WeightedPhaseEncoder::new(1 << 40),
        &["WeightedPhaseEncoder", "K", "1..=53", "phases"],
    );
    p.err(
        WeightedPhaseEncoder::new(MAX_PHASES + 1),
        &["WeightedPhaseEncoder", "got 54"],
    );
    p.err(
        WeightedPhaseEncoder::new(0),
        &["WeightedPhaseEncoder", "got 0"],
    );
    p.err(
        WeightedPhaseEncoder::new(-1),
        &["WeightedPhaseEncoder", "got -1"],
    );
    let mut wp = WeightedPhaseEncoder::new(MAX_PHASES).unwrap();
    p.err(
        wp.forward(&Tensor::from_slice(&[1.0f64])),
        &["WeightedPhaseEncoder", "[0, "],
    );
    p.err(
        wp.forward(&Tensor::from_slice(&[f64::NAN])),
        &["WeightedPhaseEncoder", "NaN"],
    );
    p.err(
        wp.forward(&Tensor::from_slice(&[1i64])),
        &["WeightedPhaseEncoder", "floating-point"],
    );
    // K = 53 on float64: x = 2^-53 is the last phase's weight, so only phase 53 fires (Ok).
    let s = run(&mut wp, &Tensor::from_slice(&[0.5f64.powi(53), 0.5]), 53);
    assert!(s[..52].iter().all(|r| r[0] == 0.0) && s[52][0] == 1.0);
    assert!(s[0][1] == 1.0 && s[1..].iter().all(|r| r[1] == 0.0));
    p.holds(s.len() == 53, "WeightedPhaseEncoder K = 53");
    let mut wp8 = WeightedPhaseEncoder::new(8).unwrap();
    let x = Tensor::from_slice(&[0.75f32, 0.25, 0.5, 0.0]).view([2, 2]);
    let a = run(&mut wp8, &x.tr(), 8);
    sj::functional::reset_net(&mut wp8);
    let b = run(&mut wp8, &x.tr().contiguous(), 8);
    p.holds(
        a == b && a[0] == [1.0, 1.0, 0.0, 0.0],
        "WeightedPhaseEncoder on a transposed view",
    );

    p.err(
        PeriodicEncoder::new(&Tensor::from(1.0f32)),
        &["PeriodicEncoder", "[T, *]"],
    );
    p.err(
        PeriodicEncoder::new(&Tensor::zeros([0, 3], cpu)),
        &["PeriodicEncoder", ">= 1, got 0"],
    );
    let pattern = Tensor::from_slice(&[1.0f32, 0.0, 1.0, 1.0]).view([2, 2]);
    let mut per = PeriodicEncoder::new(&pattern.tr()).unwrap();
    p.err(
        per.forward(&Tensor::zeros([3, 2], cpu)),
        &["PeriodicEncoder", "reset_net"],
    );
    // The pattern is returned as given, a transposed view in its logical order (Ok).
    let y = p.ok(per.forward(&pattern.tr()));
    assert_eq!(f32s(&y), [1.0, 1.0], "row 0 of the transposed pattern");
    sj::functional::reset_net(&mut per);
    p.err(
        per.forward(&Tensor::zeros([0, 2], cpu)),
        &["PeriodicEncoder", "T >= 1"],
    );
}

/// A VarStore with one `[2, 3]` weight and its gradient from one backward pass.
fn store() -> (nn::VarStore, Tensor) {
    let vs = nn::VarStore::new(Device::Cpu);
    let w = (vs.root() / "0").ones("weight", &[2, 3]);
    (&w * 2.0).sum(Kind::Float).backward();
    (vs, w)
}

fn optimisers_and_schedules(p: &mut Probes) {
    let (vs, w) = store();
    for bad in [f64::NAN, f64::INFINITY, -0.1] {
        p.err(SGD::new(&vs, bad), &["SGD", "Invalid learning rate"]);
        p.err(Adam::new(&vs, bad), &["Adam", "Invalid learning rate"]);
        p.err(
            SGD::new(&vs, 0.1).unwrap().with_momentum(bad),
            &["SGD", "momentum"],
        );
        p.err(
            SGD::new(&vs, 0.1).unwrap().with_weight_decay(bad),
            &["SGD", "weight_decay"],
        );
        p.err(
            Adam::new(&vs, 0.1).unwrap().with_weight_decay(bad),
            &["Adam", "weight_decay"],
        );
        p.err(
            Adam::new(&vs, 0.1).unwrap().with_eps(bad),
            &["Adam", "epsilon"],
        );
        p.err(
            Adam::new(&vs, 0.1).unwrap().with_betas(bad, 0.9),
            &["Adam", "beta"],
        );
        p.err(
            Adam::new(&vs, 0.1).unwrap().set_lr(bad),
            &["Adam", "Invalid learning rate"],
        );
        p.err(
            SGD::new(&vs, 0.1).unwrap().set_lr(bad),
            &["SGD", "Invalid learning rate"],
        );
    }
    p.err(
        SGD::new(&vs, 0.1).unwrap().with_dampening(f64::NAN),
        &["SGD", "dampening"],
    );
    p.err(
        SGD::new(&vs, 0.1).unwrap().with_nesterov(true),
        &["SGD", "Nesterov"],
    );
    p.err(
        Adam::new(&vs, 0.1).unwrap().with_betas(0.9, 1.0),
        &["Adam", "beta"],
    );
    // A rejected set_lr changes nothing.
    let mut sgd = SGD::new(&vs, 0.1).unwrap();
    let _ = sgd.set_lr(f64::NAN);
    p.holds(sgd.lr() == 0.1, "a rejected set_lr keeps the rate");
    // lr = 0 is valid (PyTorch accepts it): the step leaves the weights (Ok).
    let mut frozen = SGD::new(&vs, 0.0).unwrap();
    p.ok(frozen.step());
    assert_eq!(f32s(&w), [1.0; 6]);
    // An empty VarStore: nothing to update (Ok).
    let empty = nn::VarStore::new(Device::Cpu);
    p.ok(Adam::new(&empty, 0.1).unwrap().step());

    let mut adam = Adam::new(&vs, 0.1).unwrap();
    let step = |t: Tensor| vec![("step".to_string(), t)];
    p.err(adam.load_state(&[]), &["Adam", "no 'step' entry"]);
    for bad in [
        Tensor::from_slice(&[f64::NAN]),
        Tensor::from_slice(&[-1i64]),
        Tensor::from_slice(&[1.5f32]),
        Tensor::from_slice(&[1i64 << 62]),
        Tensor::from_slice(&[1i64, 2]),
    ] {
        p.err(
            adam.load_state(&step(bad)),
            &["Adam", "'step' must be one integer >= 0"],
        );
    }
    p.err(
        adam.load_state(&step(Tensor::from_slice(&[3i64]))),
        &["Adam", "missing"],
    );
    p.holds(adam.steps() == 0, "failed loads change nothing");
    // step 0 with no moments is the state of a fresh optimizer (Ok); a float "2.0" reads as 2
    // only with its moments, so it is refused for missing them.
    p.ok(adam.load_state(&step(Tensor::from_slice(&[0.0f64]))));
    p.err(
        SGD::new(&vs, 0.1).unwrap().load_state(&[(
            "momentum_buffer.0.weight".into(),
            Tensor::zeros([3], (Kind::Float, Device::Cpu)),
        )]),
        &["SGD state 'momentum_buffer.0.weight'", "[2, 3]"],
    );

    p.err(LrSchedule::step(0, 0.1), &["StepLR", "step_size"]);
    for gamma in [0.0, -0.5, f64::NAN, f64::INFINITY] {
        p.err(LrSchedule::step(1, gamma), &["StepLR", "gamma"]);
    }
    p.err(LrSchedule::cosine(0), &["CosineAnnealingLR", "T_max"]);
    // The variants' fields are public: a schedule built directly is checked when used (this one
    // divided by zero, a panic).
    p.err(
        LrSchedule::Step {
            step_size: 0,
            gamma: 0.5,
        }
        .lr(0.1, 3),
        &["StepLR", "step_size"],
    );
    p.err(
        LrSchedule::Cosine {
            t_max: 0,
            eta_min: 0.0,
        }
        .lr(0.1, 3),
        &["CosineAnnealingLR", "T_max"],
    );
    p.err(
        LrSchedule::Cosine {
            t_max: 4,
            eta_min: f64::NAN,
        }
        .lr(0.1, 3),
        &["CosineAnnealingLR", "eta_min"],
    );
    p.err(
        LrSchedule::Cosine {
            t_max: 4,
            eta_min: -1.0,
        }
        .lr(0.1, 3),
        &["CosineAnnealingLR", "eta_min"],
    );
    p.err(
        LrSchedule::Constant.lr(f64::NAN, 0),
        &["LrSchedule", "base learning rate"],
    );
    p.err(
        LrSchedule::Constant.lr(-1.0, 0),
        &["LrSchedule", "base learning rate"],
    );
    // Issue 19 item 6: a growing schedule stepped to inf (then NaN weights) silently.
    let grow = LrSchedule::step(1, 10.0).unwrap();
    assert_eq!(grow.lr(1.0, 2).unwrap(), 100.0);
    p.err(grow.lr(1.0, 400), &["StepLR", "epoch 400", "inf"]);
    // A decaying schedule at a huge epoch underflows to 0, a valid rate (Ok).
    assert_eq!(
        p.ok(LrSchedule::step(1, 0.5).unwrap().lr(1.0, usize::MAX)),
        0.0
    );
    // Past T_max the cosine rises again, as PyTorch's closed form does (Ok).
    assert!((p.ok(LrSchedule::cosine(2).unwrap().lr(1.0, 4)) - 1.0).abs() < 1e-12);
}

fn checkpoints(p: &mut Probes, dir: &Path) {
    let (vs, _w) = store();
    let mut adam = Adam::new(&vs, 0.01).unwrap();
    adam.step().unwrap();
    let record = EpochRecord {
        epoch: 0,
        lr: 0.01,
        train_loss: 0.5,
        train_acc: 0.5,
        test_loss: 0.6,
        test_acc: 0.4,
        train_speed: 10.0,
        test_speed: 20.0,
        train_acc5: 1.0,
        test_acc5: 1.0,
    };
    let ckpt = Checkpoint {
        epoch: 1,
        max_test_acc: 0.4,
        log: TrainLog {
            epochs: vec![record],
        },
    };
    let good = dir.join("good.safetensors");
    ckpt.save(&good, &vs, &adam, None).unwrap();
    p.err(
        ckpt.save(
            dir.join("no-such-dir").join("c.safetensors"),
            &vs,
            &adam,
            None,
        ),
        &["Checkpoint", "no-such-dir"],
    );
    let tensors = Tensor::read_safetensors(&good).unwrap();

    let (vs2, w2) = store();
    let mut adam2 = Adam::new(&vs2, 0.01).unwrap();
    let mut load = |path: &Path| Checkpoint::load(path, &vs2, &mut adam2, None);
    // A file with `name` replaced by `with` (or removed when `None`).
    let variant = |file: &str, name: &str, with: Option<Tensor>| -> PathBuf {
        let mut named: Vec<(String, Tensor)> = tensors
            .iter()
            .filter(|(k, _)| k != name)
            .map(|(k, t)| (k.clone(), t.shallow_clone()))
            .collect();
        if let Some(t) = with {
            named.push((name.to_string(), t));
        }
        let path = dir.join(file);
        Tensor::write_safetensors(&named, &path).unwrap();
        path
    };
    p.err(
        load(&dir.join("missing.safetensors")),
        &["Checkpoint", "missing.safetensors"],
    );
    p.err(load(dir), &["Checkpoint"]);
    let bytes = std::fs::read(&good).unwrap();
    let write = |file: &str, data: &[u8]| {
        let path = dir.join(file);
        std::fs::write(&path, data).unwrap();
        path
    };
    p.err(
        load(&write("empty.safetensors", b"")),
        &["Checkpoint", "empty.safetensors"],
    );
    p.err(
        load(&write("junk.safetensors", b"not a checkpoint at all")),
        &["Checkpoint", "junk.safetensors"],
    );
    p.err(
        load(&write("truncated.safetensors", &bytes[..bytes.len() / 2])),
        &["Checkpoint", "truncated.safetensors"],
    );
    let mut huge_header = (1u64 << 60).to_le_bytes().to_vec();
    huge_header.extend_from_slice(b"{}");
    p.err(
        load(&write("header.safetensors", &huge_header)),
        &["Checkpoint", "header.safetensors"],
    );
    let epoch_msg = "'trainer.epoch' must be one integer >= 0";
    p.err(
        load(&variant(
            "e-nan.safetensors",
            "trainer.epoch",
            Some(Tensor::from_slice(&[f64::NAN])),
        )),
        &[epoch_msg],
    );
    p.err(
        load(&variant(
            "e-neg.safetensors",
            "trainer.epoch",
            Some(Tensor::from_slice(&[-1i64])),
        )),
        &[epoch_msg],
    );
    p.err(
        load(&variant(
            "e-frac.safetensors",
            "trainer.epoch",
            Some(Tensor::from_slice(&[1.5f32])),
        )),
        &[epoch_msg],
    );
    p.err(
        load(&variant(
            "e-two.safetensors",
            "trainer.epoch",
            Some(Tensor::from_slice(&[1i64, 2])),
        )),
        &[epoch_msg],
    );
    p.err(
        load(&variant("e-none.safetensors", "trainer.epoch", None)),
        &["no 'trainer.epoch' entry"],
    );
    let acc_msg = "'trainer.max_test_acc' must be one value in [0, 1]";
    p.err(
        load(&variant(
            "a-nan.safetensors",
            "trainer.max_test_acc",
            Some(Tensor::from_slice(&[f64::NAN])),
        )),
        &[acc_msg],
    );
    p.err(
        load(&variant(
            "a-big.safetensors",
            "trainer.max_test_acc",
            Some(Tensor::from_slice(&[7.0f64])),
        )),
        &[acc_msg],
    );
    p.err(
        load(&variant(
            "l-2d.safetensors",
            "log.epoch",
            Some(Tensor::zeros([1, 1], (Kind::Double, Device::Cpu))),
        )),
        &["'log.epoch'", "dimensions"],
    );
    p.err(
        load(&variant(
            "l-neg.safetensors",
            "log.epoch",
            Some(Tensor::from_slice(&[-1.0f64])),
        )),
        &["'log.epoch' holds -1"],
    );
    p.err(
        load(&variant(
            "l-len.safetensors",
            "log.lr",
            Some(Tensor::from_slice(&[0.1f64, 0.2])),
        )),
        &["log lengths differ"],
    );
    p.err(
        load(&variant("l-none.safetensors", "log.test_acc", None)),
        &["no 'log.test_acc' entry"],
    );
    p.err(
        load(&variant(
            "o-nan.safetensors",
            "optimizer.step",
            Some(Tensor::from_slice(&[f32::NAN])),
        )),
        &["Adam", "'step'"],
    );
    p.err(
        load(&variant(
            "n-shape.safetensors",
            "net.0.weight",
            Some(Tensor::zeros([3, 2], (Kind::Float, Device::Cpu))),
        )),
        &["0.weight"],
    );
    assert_eq!(f32s(&w2), [1.0; 6], "failed loads leave the weights");
    // The good file loads (Ok) and gives back what was saved.
    let loaded = p.ok(load(&good));
    assert_eq!(loaded, ckpt);
    // float64 epoch 1.0 is the integer 1 (Ok: safetensors written by other tools may use floats).
    let as_float = variant(
        "e-float.safetensors",
        "trainer.epoch",
        Some(Tensor::from_slice(&[1.0f64])),
    );
    assert_eq!(p.ok(load(&as_float)).epoch, 1);
}

/// `n` fixed 4 x 4 images in 3 classes (u8 pixels), as a loader of 16 per batch.
fn loader(n: usize) -> DataLoader {
    let pixels: Vec<u8> = (0..n * 16).map(|k| (k * 37 % 251) as u8).collect();
    let targets: Vec<i64> = (0..n as i64).map(|i| i % 3).collect();
    let classes = vec!["a".into(), "b".into(), "c".into()];
    let ds = ImageDataset::new("probe", pixels, [1, 4, 4], targets, classes).unwrap();
    DataLoader::new(ds, 16).unwrap().with_transform(ToTensor)
}

fn trainer(p: &mut Probes) {
    let vs = nn::VarStore::new(Device::Cpu);
    let mut net = Sequential::new()
        .add(Flatten::new())
        .add(Linear::new(&(vs.root() / "1"), 16, 3, false).unwrap());
    let mut adam = Adam::new(&vs, 0.01).unwrap();
    let (train, test, empty) = (loader(48), loader(16), loader(0));
    let forward = |net: &mut dyn Module, x: &Tensor| net.forward(x);
    let quiet = |epochs| Trainer::new(epochs).with_progress(ProgressOutput::Hidden);

    // An empty pass used to report loss 0 and accuracy 0 (0/0 read as 0): a silent wrong answer.
    p.err(
        quiet(1)
            .with_max_batches(0)
            .fit(&mut net, &vs, &mut adam, &train, &test, forward),
        &[
            "Trainer",
            "training pass saw no samples",
            "with_max_batches(0)",
        ],
    );
    p.err(
        quiet(1).fit(&mut net, &vs, &mut adam, &empty, &test, forward),
        &["Trainer", "training pass saw no samples"],
    );
    p.err(
        quiet(1).fit(&mut net, &vs, &mut adam, &train, &empty, forward),
        &["Trainer", "test pass saw no samples"],
    );
    p.err(
        quiet(1).evaluate(&mut net, &empty, &mut { forward }),
        &["Trainer", "test pass"],
    );
    // Zero epochs: nothing to do, an empty log (Ok).
    let log = p.ok(quiet(0).fit(&mut net, &vs, &mut adam, &train, &test, forward));
    assert!(log.epochs.is_empty());
    // Bad schedules fail before any training, and the optimizer keeps its own rate.
    let bad = LrSchedule::Step {
        step_size: 0,
        gamma: 0.5,
    };
    p.err(
        quiet(2)
            .with_schedule(bad)
            .fit(&mut net, &vs, &mut adam, &train, &test, forward),
        &["StepLR", "step_size"],
    );
    // gamma = f64::MAX: epoch 1 trains at 1.8e306 (a wrecked net of its own), epoch 2 is inf.
    let explode = LrSchedule::step(1, f64::MAX).unwrap();
    let vs2 = nn::VarStore::new(Device::Cpu);
    let mut net2 = Sequential::new()
        .add(Flatten::new())
        .add(Linear::new(&(vs2.root() / "1"), 16, 3, false).unwrap());
    let mut adam2 = Adam::new(&vs2, 0.01).unwrap();
    p.err(
        quiet(3)
            .with_schedule(explode)
            .fit(&mut net2, &vs2, &mut adam2, &train, &test, forward),
        &["StepLR", "epoch 2", "inf"],
    );
    p.holds(
        adam.lr() == 0.01 && adam2.lr() == 0.01,
        "fit restores the optimizer's rate after an error",
    );
    // Outputs with fewer classes than the labels use: an error naming the labels' range (this
    // would be a device-side assert on CUDA).
    let two = |net: &mut dyn Module, x: &Tensor| Ok(net.forward(x)?.narrow(1, 0, 2));
    p.err(
        quiet(1).fit(&mut net, &vs, &mut adam, &train, &test, two),
        &["Trainer", "labels in 0..2"],
    );
    let ints = |net: &mut dyn Module, x: &Tensor| Ok(net.forward(x)?.to_kind(Kind::Int64));
    p.err(
        quiet(1).fit(&mut net, &vs, &mut adam, &train, &test, ints),
        &["Trainer", "float output"],
    );

    let out = Tensor::zeros([2, 3], (Kind::Float, Device::Cpu));
    for loss in [Loss::Mse, Loss::CrossEntropy] {
        p.err(
            loss.compute(&out, &Tensor::from_slice(&[0.0f32, 1.0])),
            &["Trainer", "int64 class labels"],
        );
        p.err(
            loss.compute(&out, &Tensor::from_slice(&[0i32, 1])),
            &["Trainer", "int64 class labels"],
        );
        p.err(
            loss.compute(&out, &Tensor::from_slice(&[0i64, 3])),
            &["Trainer", "labels in 0..3"],
        );
        p.err(
            loss.compute(&out, &Tensor::from_slice(&[-1i64, 0])),
            &["Trainer", "labels in 0..3"],
        );
        p.err(
            loss.compute(&out, &Tensor::from_slice(&[0i64])),
            &["Trainer", "[N, classes]"],
        );
        p.err(
            loss.compute(
                &out.narrow(0, 0, 0),
                &Tensor::zeros([0], (Kind::Int64, Device::Cpu)),
            ),
            &["Trainer", "empty batch"],
        );
        // A non-contiguous output is fine (Ok): the transposed [3, 2] scores' copy gives the same loss.
        let scores = Tensor::from_slice(&[0.1f32, 0.9, 0.3, 0.2, 0.5, 0.4]).view([3, 2]);
        let labels = Tensor::from_slice(&[1i64, 0]);
        let a = p.ok(loss.compute(&scores.tr(), &labels)).double_value(&[]);
        assert_eq!(
            a,
            loss.compute(&scores.tr().contiguous(), &labels)
                .unwrap()
                .double_value(&[])
        );
    }
    // One real epoch still trains (Ok), and its log plots.
    let log = p.ok(quiet(1).fit(&mut net, &vs, &mut adam, &train, &test, forward));
    assert_eq!(log.epochs.len(), 1);
    assert!(log.epochs[0].train_acc >= 0.0 && log.epochs[0].test_speed > 0.0);
    p.ok(log.plot("training"));
    p.err(
        TrainLog::default().plot("empty"),
        &["plot_training_curves", "no epochs"],
    );
    let mut nan = log.clone();
    nan.epochs[0].train_loss = f64::NAN;
    p.err(nan.plot("nan"), &["plot_training_curves", "non-finite"]);
    // An empty log is an empty frame (Ok).
    assert_eq!(p.ok(TrainLog::default().to_dataframe()).shape(), (0, 10));
}

/// A writer whose text the probe reads back.
#[derive(Clone, Default)]
struct Buffer(Arc<Mutex<Vec<u8>>>);

impl Write for Buffer {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().write(buf)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Buffer {
    fn lines(&self) -> Vec<String> {
        String::from_utf8(self.0.lock().unwrap().clone())
            .unwrap()
            .lines()
            .map(str::to_string)
            .collect()
    }
}

fn progress_and_display(p: &mut Probes) {
    // total = 0 printed a line on every tick (a notebook flooded by a million lines).
    let buf = Buffer::default();
    let mut zero = Progress::new("zero", 0).with_writer(buf.clone());
    (0..10_000).for_each(|_| zero.tick(&[("loss", 0.5)]));
    p.holds(
        buf.lines().is_empty(),
        "no line before the end of a loop of unknown length",
    );
    zero.finish();
    p.holds(
        buf.lines().len() == 1 && buf.lines()[0].contains("10000/0"),
        "one final line",
    );
    // Ticks past the total print nothing more until finish.
    let buf = Buffer::default();
    let mut over = Progress::new("over", 5).with_writer(buf.clone());
    (0..1000).for_each(|_| over.tick(&[]));
    over.finish();
    p.holds(
        buf.lines().len() == 6,
        "five marks and the final line, not a thousand lines",
    );
    // inc by u64::MAX twice overflowed (a panic with overflow checks): the position saturates.
    let buf = Buffer::default();
    let mut sat = Progress::new("sat", 10).with_writer(buf.clone());
    sat.inc(u64::MAX, &[]);
    sat.inc(u64::MAX, &[("acc", f64::NAN)]);
    p.holds(
        sat.position() == u64::MAX && sat.line().contains("100%"),
        "saturated position",
    );
    // A NaN metric is kept and shown as NaN (Ok: the loop's numbers are the caller's).
    p.holds(
        sat.metric("acc").is_some_and(f64::is_nan) && sat.metric("none").is_none(),
        "NaN metric kept",
    );
    // max_lines 0: only the line at the end.
    let buf = Buffer::default();
    let mut quiet = Progress::new("q", 100)
        .with_writer(buf.clone())
        .with_max_lines(0);
    (0..100).for_each(|_| quiet.tick(&[]));
    p.holds(buf.lines().len() == 1, "max_lines 0 prints the end only");
    // A child of a hidden loop is hidden (Ok).
    let hidden = Progress::new("h", 1).with_output(ProgressOutput::Hidden);
    let mut child = hidden.child("c", 0);
    child.tick(&[("x", 1.0)]);
    p.holds(
        child.finish().metric("x") == Some(1.0),
        "hidden child keeps its metrics",
    );

    // Rows shorter than the headers indexed out of bounds when displayed (a panic).
    let short = Table::new(["a", "b"]).row(["1"]);
    p.holds(short.to_string() == "a  b\n1   \n", "short row padded");
    p.holds(
        short.to_html().contains("<tr><td>1</td><td></td></tr>"),
        "short row padded in HTML",
    );
    let long = Table::new(["a"]).row(["1", "22"]);
    p.holds(long.to_string() == "a    \n1  22\n", "long row shown whole");
    p.holds(
        Table::new(Vec::<String>::new()).to_string() == "\n",
        "an empty table",
    );
    let df = DataFrame::new_infer_height(vec![Column::new("x".into(), vec![1i64, 2, 3])]).unwrap();
    // with_rows(usize::MAX) overflowed 2 * rows (a panic with overflow checks): all rows shown.
    p.holds(
        Frame::new(df.clone())
            .with_rows(usize::MAX)
            .to_table()
            .rows
            .len()
            == 3,
        "with_rows(usize::MAX)",
    );
    // with_rows(0): only the ellipsis row.
    p.holds(
        Frame::new(df.clone()).with_rows(0).to_table().rows == vec![vec!["…".to_string()]],
        "with_rows(0)",
    );
    p.holds(
        Frame::new(DataFrame::empty()).to_string() == "shape: (0, 0)\n\n",
        "an empty frame",
    );
}

#[test]
fn probe_plots_encoding() {
    let dir = scratch();
    let mut p = Probes::default();
    sj_plots_grids_and_heatmaps(&mut p);
    sj_plots_spikes_bars_and_maps(&mut p);
    sj_plots_curves_and_confusion(&mut p);
    sj_plots_frames_and_figures(&mut p, &dir);
    visualizing_tensors(&mut p);
    encoders(&mut p);
    optimisers_and_schedules(&mut p);
    checkpoints(&mut p, &dir);
    trainer(&mut p);
    progress_and_display(&mut p);
    std::fs::remove_dir_all(&dir).unwrap();
    let (e, o) = (p.errs, p.oks);
    eprintln!(
        "probe_plots_encoding: {} probes, {e} Err, {o} documented Ok",
        e + o
    );
}
