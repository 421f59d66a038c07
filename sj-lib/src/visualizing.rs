//! `spikingjelly.visualizing` on tensors: converts to [`sj_plots::Grid`] and draws with sj-plots.
//!
//! Tensors of any dtype and device are read as `f32` on the CPU; their shape is checked first,
//! with the function's name in the error, and arrays larger than the plots draw
//! ([`sj_plots::MAX_CELLS`] cells, [`sj_plots::MAX_POINTS`] steps of one neuron) are an error before
//! anything is copied.
use crate::error::{Result, SjError};
use sj_plots::{Figure, Grid};
use tch::{Kind, Tensor};

/// `t`'s values as `f32` on the CPU, in C order (a view of any strides is read in its logical order).
fn floats(module: &str, t: &Tensor) -> Result<Vec<f32>> {
    let err = |e: tch::TchError| SjError::config(module, e);
    let cpu = t
        .detach()
        .f_to_kind(Kind::Float)
        .and_then(|t| t.f_to_device(tch::Device::Cpu))
        .map_err(err)?;
    Vec::<f32>::try_from(&cpu.f_flatten(0, -1).map_err(err)?).map_err(err)
}

/// Errors naming `module` unless `t` has between 1 and `max` elements.
fn check_numel(module: &str, t: &Tensor, max: usize, fix: &str) -> Result<()> {
    let numel = t.numel();
    if numel == 0 || numel > max {
        return Err(SjError::config(
            module,
            format!(
                "{:?} has {numel} values; plots take 1 to {max} values ({fix})",
                t.size()
            ),
        ));
    }
    Ok(())
}

/// A `[rows, cols]` tensor as a [`Grid`] for `module`.
fn grid_for(module: &str, t: &Tensor) -> Result<Grid> {
    let size = t.size();
    let [r, c] = size[..] else {
        return Err(SjError::Shape {
            module: module.into(),
            expected: "[rows, cols]".into(),
            got: size,
        });
    };
    check_numel(
        module,
        t,
        sj_plots::MAX_CELLS,
        "select a range with narrow, or downsample with avg_pool",
    )?;
    Ok(Grid::new(floats(module, t)?, r as usize, c as usize)?)
}

/// A `[rows, cols]` tensor as a [`Grid`].
pub fn grid(t: &Tensor) -> Result<Grid> {
    grid_for("visualizing", t)
}

/// One neuron's values over time: a `[T]` or `[T, 1]` tensor.
fn one_neuron(module: &str, what: &str, t: &Tensor) -> Result<Vec<f32>> {
    let size = t.size();
    if !matches!(size[..], [_] | [_, 1]) {
        return Err(SjError::Shape {
            module: module.into(),
            expected: format!("{what}: one neuron's [T] or [T, 1] (select a neuron of a [T, N] tensor with {what}.select(1, i))"),
            got: size,
        });
    }
    check_numel(
        module,
        t,
        sj_plots::MAX_POINTS,
        "select a range of steps with narrow(0, start, len)",
    )?;
    floats(module, t)
}

/// `plot_one_neuron_v_s(v, s, v_threshold, v_reset, title)` for one neuron: `v` and `s` are `[T]`
/// (or `[T, 1]`); a `[T, N]` layer's record is an error (select neuron `i` with `v.select(1, i)`).
pub fn plot_one_neuron_v_s(
    v: &Tensor,
    s: &Tensor,
    v_threshold: f64,
    v_reset: Option<f64>,
    title: &str,
) -> Result<Figure> {
    let module = "plot_one_neuron_v_s";
    Ok(sj_plots::plot_one_neuron_v_s(
        &one_neuron(module, "v", v)?,
        &one_neuron(module, "s", s)?,
        v_threshold,
        v_reset,
        title,
    )?)
}

/// `plot_1d_spikes(spikes, title, xlabel, ylabel, plot_firing_rate)` for `[T, N]` spikes.
pub fn plot_1d_spikes(
    spikes: &Tensor,
    title: &str,
    xlabel: &str,
    ylabel: &str,
    plot_firing_rate: bool,
) -> Result<Figure> {
    Ok(sj_plots::plot_1d_spikes(
        &grid_for("plot_1d_spikes", spikes)?,
        title,
        xlabel,
        ylabel,
        plot_firing_rate,
    )?)
}

/// `plot_2d_heatmap(array, title, xlabel, ylabel)` for a `[T, N]` tensor (e.g. membrane potentials).
pub fn plot_2d_heatmap(array: &Tensor, title: &str, xlabel: &str, ylabel: &str) -> Result<Figure> {
    Ok(sj_plots::plot_2d_heatmap(
        &grid_for("plot_2d_heatmap", array)?,
        title,
        xlabel,
        ylabel,
    )?)
}

/// `plot_2d_bar_in_3d(array, title, xlabel, ylabel, zlabel)` for a `[T, N]` tensor (e.g. firing
/// rates of N neurons per epoch): x = time, y = neuron, z = value.
pub fn plot_2d_bar_in_3d(
    array: &Tensor,
    title: &str,
    xlabel: &str,
    ylabel: &str,
    zlabel: &str,
) -> Result<Figure> {
    Ok(sj_plots::plot_2d_bar_in_3d(
        &grid_for("plot_2d_bar_in_3d", array)?,
        title,
        xlabel,
        ylabel,
        zlabel,
    )?)
}

/// `plot_2d_feature_map(x3d, nrows, ncols, space, title)` for `[C, H, W]` feature maps (e.g. one
/// step's spikes of a conv layer), tiled `nrows x ncols` (`nrows * ncols == C`) with `space` cells of padding.
pub fn plot_2d_feature_map(
    x3d: &Tensor,
    nrows: usize,
    ncols: usize,
    space: usize,
    title: &str,
) -> Result<Figure> {
    let module = "plot_2d_feature_map";
    let size = x3d.size();
    let [_, h, w] = size[..] else {
        return Err(SjError::Shape {
            module: module.into(),
            expected: "[C, H, W]".into(),
            got: size,
        });
    };
    if h == 0 || w == 0 {
        return Err(SjError::config(
            module,
            format!("H and W must be >= 1, got H={h}, W={w} (x3d is {size:?})"),
        ));
    }
    check_numel(
        module,
        x3d,
        sj_plots::MAX_CELLS,
        "plot fewer channels with narrow(0, 0, k)",
    )?;
    let (h, w) = (h as usize, w as usize);
    let values = floats(module, x3d)?;
    let maps = values
        .chunks(h * w)
        .map(|m| Grid::new(m.to_vec(), h, w))
        .collect::<std::result::Result<Vec<_>, _>>()?;
    Ok(sj_plots::plot_2d_feature_map(
        &maps, nrows, ncols, space, title,
    )?)
}

/// Class indices from `[N]` integer-valued labels or, when `[N, num_classes]`, the argmax of each row.
fn classes(module: &str, what: &str, t: &Tensor, num_classes: usize) -> Result<Vec<usize>> {
    let size = t.size();
    let values = floats(module, t)?;
    let bad = |expected: &str, got: String| SjError::Input {
        module: module.into(),
        expected: format!("{what}: {expected}"),
        got,
    };
    if let Some(v) = values.iter().find(|v| !v.is_finite()) {
        return Err(bad("finite values", v.to_string()));
    }
    match size[..] {
        [_] => values
            .iter()
            .map(|&v| {
                if v >= 0.0 && v.fract() == 0.0 {
                    Ok(v as usize)
                } else {
                    Err(bad("class indices (integers >= 0)", v.to_string()))
                }
            })
            .collect(),
        [_, k] if k as usize == num_classes && k > 0 => Ok(values
            .chunks(num_classes)
            .map(|row| {
                row.iter()
                    .enumerate()
                    .fold(0, |best, (i, &v)| if v > row[best] { i } else { best })
            })
            .collect()),
        _ => Err(SjError::Shape {
            module: module.into(),
            expected: format!("{what}: [N] class indices or [N, {num_classes}] scores"),
            got: size,
        }),
    }
}

/// A confusion matrix of `predicted` against `labels` (each `[N]` class indices, or `[N,
/// num_classes]` scores / one-hot rows reduced by argmax): counts (or, with `normalize`, the
/// fraction of each true class) in every cell; `class_names` label the axes (one per class, or
/// none for indices).
pub fn plot_confusion_matrix(
    predicted: &Tensor,
    labels: &Tensor,
    num_classes: usize,
    class_names: &[&str],
    normalize: bool,
    title: &str,
) -> Result<Figure> {
    let module = "plot_confusion_matrix";
    let predicted = classes(module, "predicted", predicted, num_classes)?;
    let labels = classes(module, "labels", labels, num_classes)?;
    let counts = sj_plots::confusion_matrix(&predicted, &labels, num_classes)?;
    Ok(sj_plots::plot_confusion_matrix(
        &counts,
        class_names,
        normalize,
        title,
    )?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tensor_wrappers_draw_the_same_figures_as_sj_plots() {
        let a = Tensor::from_slice(&[1.0f32, 0.0, 2.0, 0.0, 0.5, 3.0]).view([2, 3]);
        let g = Grid::new(vec![1.0, 0.0, 2.0, 0.0, 0.5, 3.0], 2, 3).unwrap();
        let direct = sj_plots::plot_2d_bar_in_3d(&g, "b", "t", "n", "v").unwrap();
        assert_eq!(
            plot_2d_bar_in_3d(&a, "b", "t", "n", "v")
                .unwrap()
                .pixel_hash(),
            direct.pixel_hash()
        );
        // [C=2, H=1, W=3]: map c is row c of `a`.
        let maps = [
            Grid::new(vec![1.0, 0.0, 2.0], 1, 3).unwrap(),
            Grid::new(vec![0.0, 0.5, 3.0], 1, 3).unwrap(),
        ];
        let direct = sj_plots::plot_2d_feature_map(&maps, 2, 1, 1, "s").unwrap();
        assert_eq!(
            plot_2d_feature_map(&a.view([2, 1, 3]), 2, 1, 1, "s")
                .unwrap()
                .pixel_hash(),
            direct.pixel_hash()
        );
    }

    #[test]
    fn confusion_from_indices_or_scores() {
        let labels = Tensor::from_slice(&[0i64, 1, 2, 2]);
        let predicted = Tensor::from_slice(&[0i64, 1, 1, 2]);
        // The same predictions as scores: argmax of each row.
        let scores = Tensor::from_slice(&[
            0.9f32, 0.1, 0.0, 0.2, 0.7, 0.1, 0.3, 0.6, 0.1, 0.0, 0.1, 0.9,
        ])
        .view([4, 3]);
        let counts = sj_plots::confusion_matrix(&[0, 1, 1, 2], &[0, 1, 2, 2], 3).unwrap();
        let direct = sj_plots::plot_confusion_matrix(&counts, &[], false, "c").unwrap();
        assert_eq!(
            plot_confusion_matrix(&predicted, &labels, 3, &[], false, "c")
                .unwrap()
                .pixel_hash(),
            direct.pixel_hash()
        );
        assert_eq!(
            plot_confusion_matrix(&scores, &labels, 3, &[], false, "c")
                .unwrap()
                .pixel_hash(),
            direct.pixel_hash()
        );
        // Bad input is an error, not a panic.
        assert!(
            plot_confusion_matrix(&scores.view([2, 6]), &labels, 3, &[], false, "c").is_err(),
            "scores must be [N, num_classes]"
        );
        assert!(
            plot_confusion_matrix(
                &predicted,
                &Tensor::from_slice(&[0i64, 1]),
                3,
                &[],
                false,
                "c"
            )
            .is_err(),
            "lengths differ"
        );
        assert!(
            plot_confusion_matrix(
                &predicted,
                &Tensor::from_slice(&[0.5f32, 1.0, 2.0, 2.0]),
                3,
                &[],
                false,
                "c"
            )
            .is_err(),
            "not an index"
        );
        assert!(
            plot_confusion_matrix(
                &predicted,
                &Tensor::from_slice(&[0i64, 1, 2, 3]),
                3,
                &[],
                false,
                "c"
            )
            .is_err(),
            "class 3 of 3"
        );
    }

    #[test]
    fn wrong_shapes_are_errors() {
        let x = Tensor::zeros([2, 3], (Kind::Float, tch::Device::Cpu));
        assert!(matches!(
            plot_2d_feature_map(&x, 1, 2, 0, "s"),
            Err(SjError::Shape { .. })
        ));
        assert!(
            plot_2d_feature_map(&x.view([2, 1, 3]), 1, 1, 0, "s").is_err(),
            "nrows * ncols != C"
        );
        assert!(plot_2d_feature_map(
            &Tensor::zeros([0, 2, 2], (Kind::Float, tch::Device::Cpu)),
            0,
            0,
            0,
            "s"
        )
        .is_err());
        assert!(matches!(
            plot_2d_bar_in_3d(&x.view([6]), "b", "t", "n", "v"),
            Err(SjError::Shape { .. })
        ));
    }
}
