//! Losses of `activation_based.functional` (inventory §2.5): `kernel_dot_product`, `spike_similar_loss`,
//! `temporal_efficient_training_cross_entropy`.
use super::spikes::{check_integer, check_label_range};
use crate::base::check_float;
use crate::error::{Result, SjError};
use tch::{Kind, Reduction, Tensor};

/// The kernel of [`kernel_dot_product`]: SpikingJelly's `kernel` string with its `*args`.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub enum Kernel {
    /// `'linear'` (the default): `xᵢᵀyⱼ`.
    #[default]
    Linear,
    /// `'polynomial'`: `(xᵢᵀyⱼ)^d`, `d = args[0]`.
    Polynomial {
        /// The degree.
        d: f64,
    },
    /// `'sigmoid'`: `sigmoid(α·xᵢᵀyⱼ)`, `α = args[0]`.
    Sigmoid {
        /// The slope.
        alpha: f64,
    },
    /// `'gaussian'`: `exp(−‖xᵢ − yⱼ‖² / (2σ²))`, `σ = args[0]`.
    Gaussian {
        /// The width; must not be 0.
        sigma: f64,
    },
}

/// The `loss_type` of [`spike_similar_loss`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum SimilarityLoss {
    /// `'mse'` (the default): mean squared error.
    #[default]
    Mse,
    /// `'l1'`: mean absolute error.
    L1,
    /// `'bce'`: binary cross entropy (needs `sim_p` in `[0, 1]`).
    Bce,
}

/// `kernel_dot_product(x, y, kernel='linear')`: x `[N, M]`, y `[K, M]` → `[N, K]` with
/// `ret[i][j] = κ(x[i], y[j])` (SpikingJelly documents `K = N`).
pub fn kernel_dot_product(x: &Tensor, y: &Tensor, kernel: Kernel) -> Result<Tensor> {
    const F: &str = "kernel_dot_product";
    for t in [x, y] {
        if t.dim() != 2 {
            return Err(SjError::Shape {
                module: F.into(),
                expected: "x and y [N, M]".into(),
                got: t.size(),
            });
        }
        check_float(F, t)?;
    }
    if x.size()[1] != y.size()[1] {
        return Err(SjError::Shape {
            module: F.into(),
            expected: format!("y [K, {}] like x", x.size()[1]),
            got: y.size(),
        });
    }
    let xy = x.mm(&y.tr());
    Ok(match kernel {
        Kernel::Linear => xy,
        Kernel::Polynomial { d } => xy.pow_tensor_scalar(d),
        Kernel::Sigmoid { alpha } => (xy * alpha).sigmoid(),
        Kernel::Gaussian { sigma } => {
            if sigma == 0.0 || !sigma.is_finite() {
                return Err(SjError::config(
                    F,
                    format!("the gaussian kernel needs a finite sigma != 0, got {sigma}"),
                ));
            }
            let x2 = x.square().sum_dim_intlist(1, false, x.kind()).unsqueeze(1);
            let y2 = y.square().sum_dim_intlist(1, false, y.kind()).unsqueeze(0);
            let d_xy = x2 + y2 - xy * 2.0;
            (d_xy / (-2.0 * sigma * sigma)).exp()
        }
    })
}

/// `spike_similar_loss(spikes, labels, kernel_type='linear', loss_type='mse')`: spikes `[N, M, T]`
/// (flattened to `[N, M·T]`), labels `[N, C]` (multi-label allowed). The target `sim = min(labels·labelsᵀ, 1)`
/// marks pairs sharing a label; the prediction `sim_p` is [`kernel_dot_product`] of the spikes with
/// themselves, divided by `‖xᵢ‖‖xⱼ‖ + 1e-8` (and clamped to at most 1) for the linear kernel. Returns the
/// `loss_type` loss (mean).
pub fn spike_similar_loss(
    spikes: &Tensor,
    labels: &Tensor,
    kernel_type: Kernel,
    loss_type: SimilarityLoss,
) -> Result<Tensor> {
    const F: &str = "spike_similar_loss";
    if spikes.dim() < 2 {
        return Err(SjError::Shape {
            module: F.into(),
            expected: "spikes [N, M, T]".into(),
            got: spikes.size(),
        });
    }
    let n = spikes.size()[0];
    if labels.dim() != 2 || labels.size()[0] != n {
        return Err(SjError::Shape {
            module: F.into(),
            expected: format!("labels [{n}, C]"),
            got: labels.size(),
        });
    }
    let spikes = spikes.flatten(1, -1);
    let mut sim_p =
        kernel_dot_product(&spikes, &spikes, kernel_type).map_err(|e| SjError::config(F, e))?;
    if kernel_type == Kernel::Linear {
        let len = spikes.norm_scalaropt_dim(2, [1i64], true);
        // Cauchy-Schwarz bounds the cosine by 1; float rounding can exceed it (SpikingJelly's BCE then fails
        // on identical non-zero spike trains), so the normalised value is clamped to 1.
        sim_p = (sim_p / (len.mm(&len.tr()) + 1e-8)).clamp_max(1.0);
    }
    let labels = labels.to_kind(sim_p.kind());
    let sim = labels.mm(&labels.tr()).clamp_max(1.0);
    Ok(match loss_type {
        SimilarityLoss::Mse => sim_p.mse_loss(&sim, Reduction::Mean),
        SimilarityLoss::L1 => sim_p.l1_loss(&sim, Reduction::Mean),
        SimilarityLoss::Bce => sim_p
            .f_binary_cross_entropy(&sim, None::<Tensor>, Reduction::Mean)
            .map_err(|e| SjError::Input {
                module: F.into(),
                expected: "sim_p in [0, 1] for SimilarityLoss::Bce".into(),
                got: e.to_string().lines().next().unwrap_or_default().to_string(),
            })?,
    })
}

/// `temporal_efficient_training_cross_entropy(x_seq, target)`: the TET loss, the mean over t of
/// `cross_entropy(x_seq[t], target)` for x_seq `[T, N, C, *]` and class indices target `[N]` or `[N, *]`
/// (computed, as in SpikingJelly, as one cross entropy over `[N, C, T, *]` with target repeated over T).
pub fn temporal_efficient_training_cross_entropy(
    x_seq: &Tensor,
    target: &Tensor,
) -> Result<Tensor> {
    const F: &str = "temporal_efficient_training_cross_entropy";
    if x_seq.dim() < 3 {
        return Err(SjError::Shape {
            module: F.into(),
            expected: "x_seq [T, N, C, *]".into(),
            got: x_seq.size(),
        });
    }
    check_float(F, x_seq)?;
    let size = x_seq.size();
    let (steps, classes) = (size[0], size[2]);
    let mut target_shape = vec![size[1]];
    target_shape.extend_from_slice(&size[3..]);
    if target.size() != target_shape {
        return Err(SjError::Shape {
            module: F.into(),
            expected: format!("target {target_shape:?} (x_seq without T and C)"),
            got: target.size(),
        });
    }
    check_integer(F, target)?;
    check_label_range(F, target, classes)?;
    let mut repeats = vec![1i64; target.dim() + 1];
    repeats[1] = steps;
    let target = target
        .to_kind(Kind::Int64)
        .unsqueeze(1)
        .repeat(repeats.as_slice());
    Ok(x_seq.transpose(0, 1).transpose(1, 2).cross_entropy_loss(
        &target,
        None::<Tensor>,
        Reduction::Mean,
        -100,
        0.0,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use tch::Device;

    fn close(t: &Tensor, expected: &[f64], tol: f64) {
        let got = Vec::<f64>::try_from(&t.to_kind(Kind::Double).flatten(0, -1)).unwrap();
        assert_eq!(got.len(), expected.len(), "{got:?} vs {expected:?}");
        for (g, e) in got.iter().zip(expected) {
            assert!((g - e).abs() < tol, "{got:?} vs {expected:?}");
        }
    }

    #[test]
    fn kernel_dot_product_by_hand() {
        // x0 = (1, 2), x1 = (0, 1); y0 = (1, 0), y1 = (1, 1): xᵢᵀyⱼ = [[1, 3], [0, 1]].
        let x = Tensor::from_slice(&[1f32, 2., 0., 1.]).view([2, 2]);
        let y = Tensor::from_slice(&[1f32, 0., 1., 1.]).view([2, 2]);
        close(
            &kernel_dot_product(&x, &y, Kernel::Linear).unwrap(),
            &[1., 3., 0., 1.],
            1e-6,
        );
        close(
            &kernel_dot_product(&x, &y, Kernel::Polynomial { d: 2.0 }).unwrap(),
            &[1., 9., 0., 1.],
            1e-6,
        );
        let s = |z: f64| 1.0 / (1.0 + (-z).exp());
        close(
            &kernel_dot_product(&x, &y, Kernel::Sigmoid { alpha: 0.5 }).unwrap(),
            &[s(0.5), s(1.5), s(0.0), s(0.5)],
            1e-6,
        );
        // ‖xᵢ − yⱼ‖² = [[4, 1], [2, 1]], σ = 1: exp(−d/2).
        let g = |d: f64| (-d / 2.0).exp();
        close(
            &kernel_dot_product(&x, &y, Kernel::Gaussian { sigma: 1.0 }).unwrap(),
            &[g(4.), g(1.), g(2.), g(1.)],
            1e-6,
        );

        let err = kernel_dot_product(
            &x,
            &Tensor::ones([2, 3], (Kind::Float, Device::Cpu)),
            Kernel::Linear,
        )
        .unwrap_err();
        assert!(
            err.to_string().contains("kernel_dot_product") && err.to_string().contains("[2, 3]"),
            "{err}"
        );
        assert!(kernel_dot_product(&x, &y, Kernel::Gaussian { sigma: 0.0 }).is_err());
        assert!(kernel_dot_product(&x.view([4]), &y, Kernel::Linear).is_err());
    }

    #[test]
    fn spike_similar_loss_by_hand() {
        // Three samples, M = 1, T = 2. Spikes a = (1, 0), b = (1, 1), c = (0, 1).
        let spikes = Tensor::from_slice(&[1f32, 0., 1., 1., 0., 1.]).view([3, 1, 2]);
        // a and b share class 0, c is class 1: sim = [[1,1,0],[1,1,0],[0,0,1]].
        let labels = Tensor::from_slice(&[1i64, 0, 1, 0, 0, 1]).view([3, 2]);
        // Normalised linear kernel: cos(a,b) = cos(b,c) = 1/√2, cos(a,c) = 0, diagonal 1 (up to the 1e-8).
        let r = std::f64::consts::FRAC_1_SQRT_2;
        let sim_p = [1., r, 0., r, 1., r, 0., r, 1.];
        let sim = [1., 1., 0., 1., 1., 0., 0., 0., 1.];
        let diffs: Vec<f64> = sim_p.iter().zip(&sim).map(|(p, s)| p - s).collect();
        let mse = diffs.iter().map(|d| d * d).sum::<f64>() / 9.0;
        let l1 = diffs.iter().map(|d| d.abs()).sum::<f64>() / 9.0;
        let bce = sim_p
            .iter()
            .zip(&sim)
            .map(|(p, s): (&f64, &f64)| {
                -(s * p.ln().max(-100.0) + (1.0 - s) * (1.0 - p).ln().max(-100.0))
            })
            .sum::<f64>()
            / 9.0;
        let loss = |k, l| {
            spike_similar_loss(&spikes, &labels, k, l)
                .unwrap()
                .double_value(&[])
        };
        assert!((loss(Kernel::Linear, SimilarityLoss::Mse) - mse).abs() < 1e-6);
        assert!((loss(Kernel::Linear, SimilarityLoss::L1) - l1).abs() < 1e-6);
        assert!((loss(Kernel::Linear, SimilarityLoss::Bce) - bce).abs() < 1e-5);
        // Gaussian σ = 1: ‖a−b‖² = ‖b−c‖² = 1, ‖a−c‖² = 2.
        let (e1, e2) = ((-0.5f64).exp(), (-1.0f64).exp());
        let gp = [1., e1, e2, e1, 1., e1, e2, e1, 1.];
        let gmse = gp
            .iter()
            .zip(&sim)
            .map(|(p, s)| (p - s) * (p - s))
            .sum::<f64>()
            / 9.0;
        assert!((loss(Kernel::Gaussian { sigma: 1.0 }, SimilarityLoss::Mse) - gmse).abs() < 1e-6);

        let err = spike_similar_loss(
            &spikes,
            &labels.narrow(0, 0, 2),
            Kernel::Linear,
            SimilarityLoss::Mse,
        )
        .unwrap_err();
        assert!(
            err.to_string().contains("spike_similar_loss") && err.to_string().contains("[3, C]"),
            "{err}"
        );
        // The unnormalised polynomial kernel leaves [0, 1], which BCE refuses.
        let err = spike_similar_loss(
            &(spikes * 3.0),
            &labels,
            Kernel::Polynomial { d: 2.0 },
            SimilarityLoss::Bce,
        )
        .unwrap_err();
        assert!(
            err.to_string().contains("spike_similar_loss") && err.to_string().contains("[0, 1]"),
            "{err}"
        );
    }

    #[test]
    fn tet_equals_the_mean_of_per_step_cross_entropies() {
        tch::manual_seed(1);
        let (t, n, c) = (8, 4, 10);
        let x_seq = Tensor::rand([t, n, c], (Kind::Float, Device::Cpu));
        let target = Tensor::randint(c, [n], (Kind::Int64, Device::Cpu));
        let tet = temporal_efficient_training_cross_entropy(&x_seq, &target).unwrap();
        let looped = (0..t)
            .map(|i| {
                x_seq
                    .get(i)
                    .cross_entropy_loss(&target, None::<Tensor>, Reduction::Mean, -100, 0.0)
            })
            .fold(Tensor::from(0f32), |a, b| a + b)
            / t as f64;
        assert!((tet.double_value(&[]) - looped.double_value(&[])).abs() < 1e-6);
        // By hand for T = 2, N = 1, C = 2, target 0: CE = ln(1 + e^(x1 − x0)) = ln(1 + e^-1), then ln 2.
        let x = Tensor::from_slice(&[1f32, 0., 0., 0.]).view([2, 1, 2]);
        let by_hand = ((1.0 + (-1f64).exp()).ln() + 2f64.ln()) / 2.0;
        let got =
            temporal_efficient_training_cross_entropy(&x, &Tensor::from_slice(&[0i64])).unwrap();
        assert!((got.double_value(&[]) - by_hand).abs() < 1e-6);
        // Target [N, *] for x_seq [T, N, C, *].
        let x4 = Tensor::rand([3, 2, 5, 4], (Kind::Float, Device::Cpu));
        let t4 = Tensor::randint(5, [2, 4], (Kind::Int64, Device::Cpu));
        let looped4 = (0..3)
            .map(|i| {
                x4.get(i)
                    .cross_entropy_loss(&t4, None::<Tensor>, Reduction::Mean, -100, 0.0)
                    .double_value(&[])
            })
            .sum::<f64>()
            / 3.0;
        assert!(
            (temporal_efficient_training_cross_entropy(&x4, &t4)
                .unwrap()
                .double_value(&[])
                - looped4)
                .abs()
                < 1e-6
        );

        let f = "temporal_efficient_training_cross_entropy";
        let err = temporal_efficient_training_cross_entropy(
            &x_seq,
            &Tensor::from_slice(&[0i64, 1, 2, 10]),
        )
        .unwrap_err();
        assert!(
            err.to_string().contains(f) && err.to_string().contains("[0, 10)"),
            "{err}"
        );
        let err =
            temporal_efficient_training_cross_entropy(&x_seq, &Tensor::from_slice(&[0i64, 1]))
                .unwrap_err();
        assert!(
            err.to_string().contains(f) && err.to_string().contains("[4]"),
            "{err}"
        );
        assert!(temporal_efficient_training_cross_entropy(&x_seq.get(0), &target).is_err());
        assert!(
            temporal_efficient_training_cross_entropy(&x_seq, &target.to_kind(Kind::Float))
                .is_err()
        );
    }
}
