//! Folding a convolution followed by a batch norm (eval statistics) into one convolution
//! (inventory §2.5, §2.9): `W' = W·γ/√(σ²+ε)` per output channel, `b' = (b − μ)·γ/√(σ²+ε) + β`.
use crate::base::Module;
use crate::error::{Result, SjError};
use crate::layer::{BatchNorm2d, BatchNormNd, Conv2d, ConvNd, ConvOptions};
use tch::{nn, Tensor};

/// `(γ/√(σ²+ε), β, μ)` per channel, or an error naming `function` when the BN is not affine or
/// has no running statistics, or its size differs from the convolution's `out` channels.
fn bn_scale<const D: usize>(
    function: &str,
    out: i64,
    bn: &BatchNormNd<D>,
) -> Result<(Tensor, Tensor, Tensor)> {
    let bn_name = ["BatchNorm1d", "BatchNorm2d", "BatchNorm3d"][D - 1];
    let (Some(gamma), Some(beta), Some(mean), Some(var)) =
        (bn.weight(), bn.bias(), bn.running_mean(), bn.running_var())
    else {
        return Err(SjError::config(
            function,
            format!("the {bn_name} needs affine=True and track_running_stats=True"),
        ));
    };
    if gamma.size() != [out] {
        return Err(SjError::config(
            function,
            format!(
                "{bn_name} has {:?} features, the convolution has {out} output channels",
                gamma.size()
            ),
        ));
    }
    let scale = gamma.detach() / (var.detach() + bn.eps()).sqrt();
    Ok((scale, beta.detach(), mean.detach()))
}

/// `torch.nn.utils.fusion.fuse_conv_bn_eval(conv, bn)` for `Conv1d`/`Conv2d`/`Conv3d` followed by
/// the batch norm of the same dimension: a new convolution (new tensors, always with a bias,
/// registered in no VarStore; `conv` and `bn` are unchanged) computing `bn(conv(x))` with the BN's
/// running statistics, `W' = W·γ/√(σ²+ε)`, `b' = (b − μ)·γ/√(σ²+ε) + β` (`b = 0` without a bias).
/// What [`crate::ann2snn::Converter`] folds with `fuse_flag`.
pub fn fuse_conv_bn_eval<const D: usize>(
    conv: &ConvNd<D, false>,
    bn: &BatchNormNd<D>,
) -> Result<ConvNd<D, false>> {
    const F: &str = "fuse_conv_bn_eval";
    let out = conv.config().1;
    let (scale, beta, mean) = bn_scale(F, out, bn)?;
    // [out, in/groups, *kernel]: one scale per output channel.
    let mut shape = vec![1i64; D + 2];
    shape[0] = -1;
    let weight = conv.weight().detach() * scale.view(shape.as_slice());
    let bias = match conv.bias() {
        Some(b) => (b.detach() - mean) * &scale + beta,
        None => beta - mean * &scale,
    };
    Ok(conv.with_parameters(weight, bias))
}

fn no_conv_bias(function: &str, conv: &Conv2d) -> Result<()> {
    match conv.bias() {
        None => Ok(()),
        Some(_) => Err(SjError::config(function, "the Conv2d must have bias=False")),
    }
}

/// `fused_conv2d_weight_of_convbn2d(conv2d, bn2d)`: the weight of the equivalent convolution.
pub fn fused_conv2d_weight_of_convbn2d(conv2d: &Conv2d, bn2d: &BatchNorm2d) -> Result<Tensor> {
    const F: &str = "fused_conv2d_weight_of_convbn2d";
    no_conv_bias(F, conv2d)?;
    let (scale, _, _) = bn_scale(F, conv2d.config().1, bn2d)?;
    Ok(conv2d.weight().detach() * scale.view([-1, 1, 1, 1]))
}

/// `fused_conv2d_bias_of_convbn2d(conv2d, bn2d)`: the bias of the equivalent convolution.
pub fn fused_conv2d_bias_of_convbn2d(conv2d: &Conv2d, bn2d: &BatchNorm2d) -> Result<Tensor> {
    const F: &str = "fused_conv2d_bias_of_convbn2d";
    no_conv_bias(F, conv2d)?;
    let (scale, beta, mean) = bn_scale(F, conv2d.config().1, bn2d)?;
    Ok(beta - mean * scale)
}

/// `scale_fused_conv2d_weight_of_convbn2d(conv2d, bn2d, k, b)`: changes `conv2d.weight` in place so
/// that the fused weight becomes `k·W' + b`.
pub fn scale_fused_conv2d_weight_of_convbn2d(
    conv2d: &Conv2d,
    bn2d: &BatchNorm2d,
    k: Option<f64>,
    b: Option<f64>,
) -> Result<()> {
    const F: &str = "scale_fused_conv2d_weight_of_convbn2d";
    no_conv_bias(F, conv2d)?;
    let (scale, _, _) = bn_scale(F, conv2d.config().1, bn2d)?;
    let mut w = conv2d.weight().shallow_clone();
    tch::no_grad(|| {
        if let Some(k) = k {
            let _ = w.f_mul_scalar_(k);
        }
        if let Some(b) = b {
            let _ = w.f_add_(&(scale.reciprocal() * b).view([-1, 1, 1, 1]));
        }
    });
    Ok(())
}

/// `scale_fused_conv2d_bias_of_convbn2d(conv2d, bn2d, k, b)`: changes the BN's `bias` and
/// `running_mean` in place so that the fused bias becomes `k·b' + b`.
pub fn scale_fused_conv2d_bias_of_convbn2d(
    conv2d: &Conv2d,
    bn2d: &BatchNorm2d,
    k: Option<f64>,
    b: Option<f64>,
) -> Result<()> {
    const F: &str = "scale_fused_conv2d_bias_of_convbn2d";
    no_conv_bias(F, conv2d)?;
    // Detached tensors share storage with the BN's parameters, so in-place updates reach them.
    let (_, mut beta, mut mean) = bn_scale(F, conv2d.config().1, bn2d)?;
    tch::no_grad(|| {
        if let Some(k) = k {
            let _ = beta.f_mul_scalar_(k);
            let _ = mean.f_mul_scalar_(k);
        }
        if let Some(b) = b {
            let _ = beta.f_add_scalar_(b);
        }
    });
    Ok(())
}

/// `fuse_convbn2d(conv2d, bn2d)`: a new `Conv2d` (with bias, registered under `path`) computing
/// `bn2d(conv2d(x))` with the BN's running statistics.
pub fn fuse_convbn2d(path: &nn::Path, conv2d: &Conv2d, bn2d: &BatchNorm2d) -> Result<Conv2d> {
    let weight = fused_conv2d_weight_of_convbn2d(conv2d, bn2d)?;
    let bias = fused_conv2d_bias_of_convbn2d(conv2d, bn2d)?;
    let (cin, cout, kernel, options) = conv2d.config();
    let options: ConvOptions<2> = options.with_bias(true);
    let fused =
        Conv2d::new_with(path, cin, cout, kernel, options)?.with_step_mode(conv2d.step_mode());
    tch::no_grad(|| {
        let _ = fused.weight().shallow_clone().f_copy_(&weight);
        let _ = fused
            .bias()
            .expect("bias=True")
            .shallow_clone()
            .f_copy_(&bias);
    });
    Ok(fused)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::functional::set_training;
    use crate::layer::BatchNorm2d;
    use tch::{Device, Kind};

    fn conv_bn(vs: &nn::VarStore) -> (Conv2d, BatchNorm2d) {
        let conv = Conv2d::new_with(
            &(vs.root() / "0"),
            2,
            3,
            3,
            ConvOptions::new().with_padding(1).with_bias(false),
        )
        .unwrap();
        let mut bn = BatchNorm2d::new(&(vs.root() / "1"), 3).unwrap();
        tch::manual_seed(5);
        // Non-trivial statistics and affine parameters.
        let _ = bn
            .forward(&(Tensor::randn([8, 3, 4, 4], (Kind::Float, Device::Cpu)) * 2.0 + 1.0))
            .unwrap();
        tch::no_grad(|| {
            bn.weight()
                .unwrap()
                .shallow_clone()
                .copy_(&Tensor::from_slice(&[0.5f32, 2.0, -1.0]));
            bn.bias()
                .unwrap()
                .shallow_clone()
                .copy_(&Tensor::from_slice(&[0.1f32, -0.2, 0.3]));
        });
        set_training(&mut bn, false);
        (conv, bn)
    }

    #[test]
    fn fused_conv_equals_conv_then_bn() {
        let vs = nn::VarStore::new(Device::Cpu);
        let (mut conv, mut bn) = conv_bn(&vs);
        let x = Tensor::randn([2, 2, 5, 5], (Kind::Float, Device::Cpu));
        let want = bn.forward(&conv.forward(&x).unwrap()).unwrap();
        let mut fused = fuse_convbn2d(&(vs.root() / "fused"), &conv, &bn).unwrap();
        let got = fused.forward(&x).unwrap();
        assert!((got - &want).abs().max().double_value(&[]) < 1e-5);
        // The bias formula by hand for channel 0: β − μ·γ/√(σ²+ε).
        let (mu, var) = (
            bn.running_mean().unwrap().double_value(&[0]),
            bn.running_var().unwrap().double_value(&[0]),
        );
        let b0 = fused_conv2d_bias_of_convbn2d(&conv, &bn)
            .unwrap()
            .double_value(&[0]);
        assert!((b0 - (0.1 - mu * 0.5 / (var + 1e-5).sqrt())).abs() < 1e-6);
    }

    #[test]
    fn scaling_is_a_linear_transform_of_the_fused_parameters() {
        let vs = nn::VarStore::new(Device::Cpu);
        let (conv, bn) = conv_bn(&vs);
        let (w0, b0) = (
            fused_conv2d_weight_of_convbn2d(&conv, &bn).unwrap(),
            fused_conv2d_bias_of_convbn2d(&conv, &bn).unwrap(),
        );
        scale_fused_conv2d_weight_of_convbn2d(&conv, &bn, Some(2.0), Some(0.5)).unwrap();
        scale_fused_conv2d_bias_of_convbn2d(&conv, &bn, Some(2.0), Some(0.5)).unwrap();
        let w1 = fused_conv2d_weight_of_convbn2d(&conv, &bn).unwrap();
        let b1 = fused_conv2d_bias_of_convbn2d(&conv, &bn).unwrap();
        assert!((w1 - (w0 * 2.0 + 0.5)).abs().max().double_value(&[]) < 1e-5);
        assert!((b1 - (b0 * 2.0 + 0.5)).abs().max().double_value(&[]) < 1e-5);
    }

    #[test]
    fn a_conv_bias_or_a_size_mismatch_is_an_error() {
        let vs = nn::VarStore::new(Device::Cpu);
        let conv = Conv2d::new(&(vs.root() / "0"), 2, 3, 3).unwrap();
        let bn = BatchNorm2d::new(&(vs.root() / "1"), 3).unwrap();
        let err = fused_conv2d_weight_of_convbn2d(&conv, &bn)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("fused_conv2d_weight_of_convbn2d") && err.contains("bias=False"),
            "{err}"
        );
        let conv = Conv2d::new_with(
            &(vs.root() / "2"),
            2,
            4,
            3,
            ConvOptions::new().with_bias(false),
        )
        .unwrap();
        assert!(fuse_convbn2d(&(vs.root() / "f"), &conv, &bn)
            .unwrap_err()
            .to_string()
            .contains("4 output channels"));
    }
}
