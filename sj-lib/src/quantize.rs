//! `activation_based.quantize`: quantizers with straight-through gradients (inventory §2.13).
//!
//! Each function's forward value is the exact quantized value, and its gradient is redefined:
//! 1 everywhere (`round`, `ceil`, `floor`, `step_quantize`, `k_bit_quantize`) or 1 inside
//! `[min, max]` and 0 outside (`clamp`). tch has no custom autograd function, so
//! [`straight_through`] builds `y.detach() + (x − x.detach())·g`: the second term is exactly zero
//! in value and contributes exactly `g` to the gradient.
//!
//! ```
//! use sj::quantize::k_bit_quantize;
//! use tch::{Kind, Tensor};
//! let x = Tensor::from_slice(&[0.6965f32, 0.1332, 0.2384]).set_requires_grad(true);
//! let y = k_bit_quantize(&x, 2).unwrap(); // nearest i/3
//! assert_eq!(Vec::<f32>::try_from(&y).unwrap(), vec![2.0 / 3.0, 0.0, 1.0 / 3.0]);
//! y.sum(Kind::Float).backward();
//! assert_eq!(Vec::<f32>::try_from(&x.grad()).unwrap(), vec![1.0; 3]);
//! ```
use crate::error::{Result, SjError};
use tch::Tensor;

/// Value `y` (detached) with gradient `grad` (all ones when `None`) flowing to `x`.
///
/// The value is exactly `y`: elements where `x` or `grad` is NaN or infinite get gradient 0
/// instead of turning the value into NaN (`∞ − ∞`, `0·NaN`), as SpikingJelly's autograd functions
/// return `y` whatever the input.
pub fn straight_through(x: &Tensor, y: &Tensor, grad: Option<&Tensor>) -> Tensor {
    let y = y.detach();
    if !x.requires_grad() {
        return y;
    }
    let delta = x - x.detach();
    let delta = match grad {
        Some(g) => delta * g.detach(),
        None => delta,
    };
    // `nan_to_num` passes the gradient where the term is finite (exactly zero) and blocks it
    // where it is not, so a NaN or infinite input or surrogate gradient never reaches the value.
    y + delta.nan_to_num(0.0, 0.0, 0.0)
}

/// `round(x)`: `torch.round(x)` (half to even) with gradient 1.
pub fn round(x: &Tensor) -> Tensor {
    straight_through(x, &x.detach().round(), None)
}

/// `ceil(x)`: `torch.ceil(x)` with gradient 1.
pub fn ceil(x: &Tensor) -> Tensor {
    straight_through(x, &x.detach().ceil(), None)
}

/// `floor(x)`: `torch.floor(x)` with gradient 1.
pub fn floor(x: &Tensor) -> Tensor {
    straight_through(x, &x.detach().floor(), None)
}

/// `clamp(x, min_value, max_value)`: `torch.clamp` with gradient 1 where
/// `min_value ≤ x ≤ max_value` and 0 elsewhere (`clamp_backward`).
pub fn clamp(x: &Tensor, min_value: f64, max_value: f64) -> Tensor {
    let y = x.detach().clamp(min_value, max_value);
    let mask = x.requires_grad().then(|| {
        x.ge(min_value)
            .logical_and(&x.le(max_value))
            .to_kind(x.kind())
    });
    straight_through(x, &y, mask.as_ref())
}

/// `step_quantize(x, step)`: the nearest `i·step` (`round(x / step)·step`, ties to even) with
/// gradient 1. `step` must be finite and positive.
pub fn step_quantize(x: &Tensor, step: f64) -> Result<Tensor> {
    if !(step.is_finite() && step > 0.0) {
        return Err(SjError::config(
            "step_quantize",
            format!("step must be finite and > 0, got {step}"),
        ));
    }
    Ok(straight_through(
        x,
        &((x.detach() / step).round() * step),
        None,
    ))
}

/// `k_bit_quantize(x, k)`: DoReFa-Net's k-bit quantizer, `round((2^k − 1)·x) / (2^k − 1)`, for
/// `x ∈ [0, 1]` (the nearest `i / (2^k − 1)`), with gradient 1. `k` must be in `1..=1023`.
pub fn k_bit_quantize(x: &Tensor, k: i64) -> Result<Tensor> {
    if !(1..=1023).contains(&k) {
        return Err(SjError::config(
            "k_bit_quantize",
            format!("k must be in 1..=1023, got {k}"),
        ));
    }
    let c = 2f64.powi(k as i32) - 1.0;
    Ok(straight_through(x, &((x.detach() * c).round() / c), None))
}

/// `clamp_by_linear(x, eps)`: `(x − min(x)) / (max(x) − min(x) + eps)`, mapping x into `[0, 1]`,
/// with ordinary autograd. SpikingJelly's default `eps` is `1e-5`. An empty `x` is an error.
pub fn clamp_by_linear(x: &Tensor, eps: f64) -> Result<Tensor> {
    const F: &str = "clamp_by_linear";
    if !(eps.is_finite() && eps >= 0.0) {
        return Err(SjError::config(
            F,
            format!("eps must be finite and >= 0 (SpikingJelly's default is 1e-5), got {eps}"),
        ));
    }
    if x.numel() == 0 {
        return Err(SjError::Shape {
            module: F.into(),
            expected: "a non-empty tensor (min and max of nothing are undefined)".into(),
            got: x.size(),
        });
    }
    let min = x.f_min().map_err(crate::error::op_error(F))?;
    let max = x.f_max().map_err(crate::error::op_error(F))?;
    Ok((x - &min) / (max - min + eps))
}

#[cfg(test)]
mod tests {
    use super::*;
    use tch::Kind;

    fn f32s(t: &Tensor) -> Vec<f32> {
        Vec::<f32>::try_from(t).unwrap()
    }

    /// Returns `f(x)` and `∂(Σ w·f(x))/∂x`, with weights `w = 1, 2, 3, ...`.
    fn value_and_grad(x: &[f32], f: impl Fn(&Tensor) -> Tensor) -> (Vec<f32>, Vec<f32>) {
        let x = Tensor::from_slice(x).set_requires_grad(true);
        let w = Tensor::arange_start(1, x.size()[0] + 1, (Kind::Float, x.device()));
        let y = f(&x);
        (&y * &w).sum(Kind::Float).backward();
        // divide out w: the gradient handed on equals the incoming one times ∂y/∂x
        (f32s(&y), f32s(&(x.grad() / w)))
    }

    #[test]
    fn k_bit_quantize_doc_example_checklist_296() {
        let x = [
            0.6965f32, 0.5697, 0.9883, 0.0438, 0.1332, 0.7613, 0.9704, 0.2384,
        ];
        let (y, g) = value_and_grad(&x, |x| k_bit_quantize(x, 2).unwrap());
        let reference = [
            0.6667f32, 0.6667, 1.0000, 0.0000, 0.0000, 0.6667, 1.0000, 0.3333,
        ];
        for (a, b) in y.iter().zip(reference) {
            assert!((a - b).abs() < 5e-5, "{y:?}");
        }
        assert_eq!(y[0], 2.0 / 3.0);
        assert_eq!(y[7], 1.0 / 3.0);
        assert_eq!(g, [1.0; 8]);
        assert!(k_bit_quantize(&Tensor::from_slice(&x), 0)
            .unwrap_err()
            .to_string()
            .contains("k_bit_quantize"));
        // k = 1: {0, 1}
        assert_eq!(
            f32s(&k_bit_quantize(&Tensor::from_slice(&[0.49f32, 0.51]), 1).unwrap()),
            [0.0, 1.0]
        );
    }

    #[test]
    fn round_ceil_floor_values_and_unit_gradients() {
        let x = [-1.5f32, -0.5, 0.5, 1.5, 2.7, -2.2];
        let (y, g) = value_and_grad(&x, round);
        assert_eq!(y, [-2.0, -0.0, 0.0, 2.0, 3.0, -2.0]);
        assert_eq!(g, [1.0; 6]);
        let (y, g) = value_and_grad(&x, ceil);
        assert_eq!(y, [-1.0, -0.0, 1.0, 2.0, 3.0, -2.0]);
        assert_eq!(g, [1.0; 6]);
        let (y, g) = value_and_grad(&x, floor);
        assert_eq!(y, [-2.0, -1.0, 0.0, 1.0, 2.0, -3.0]);
        assert_eq!(g, [1.0; 6]);
        // without requires_grad the value is the plain op and no graph is built
        let plain = floor(&Tensor::from_slice(&x));
        assert!(!plain.requires_grad());
        assert_eq!(f32s(&plain), [-2.0, -1.0, 0.0, 1.0, 2.0, -3.0]);
    }

    #[test]
    fn clamp_gradient_is_one_inside_and_zero_outside() {
        let x = [-2.0f32, -1.0, 0.0, 1.0, 1.5, 3.0, f32::INFINITY];
        let (y, g) = value_and_grad(&x, |x| clamp(x, -1.0, 1.5));
        assert_eq!(y, [-1.0, -1.0, 0.0, 1.0, 1.5, 1.5, 1.5]);
        assert_eq!(g, [0.0, 1.0, 1.0, 1.0, 1.0, 0.0, 0.0]);
    }

    #[test]
    fn step_quantize_values_and_gradient() {
        // x / 2 = [-1.55, -0.5, 0.45, 0.5, 1.45, 1.5, 2.6] → round (ties to even) → ×2
        let x = [-3.1f32, -1.0, 0.9, 1.0, 2.9, 3.0, 5.2];
        let (y, g) = value_and_grad(&x, |x| step_quantize(x, 2.0).unwrap());
        assert_eq!(y, [-4.0, -0.0, 0.0, 0.0, 2.0, 4.0, 6.0]);
        assert_eq!(g, [1.0; 7]);
        let y = step_quantize(&Tensor::from_slice(&[0.3f32, 0.4, -0.13]), 0.25).unwrap();
        assert_eq!(f32s(&y), [0.25, 0.5, -0.25]);
        for bad in [0.0, -1.0, f64::NAN] {
            let err = step_quantize(&Tensor::from_slice(&[1.0f32]), bad)
                .unwrap_err()
                .to_string();
            assert!(err.contains("step_quantize"), "{err}");
        }
    }

    #[test]
    fn clamp_by_linear_values_and_autograd() {
        let (y, g) = value_and_grad(&[1.0, 3.0, 5.0], |x| clamp_by_linear(x, 0.0).unwrap());
        assert_eq!(y, [0.0, 0.5, 1.0]);
        // L = Σ w·y, D = max − min = 4: ∂L/∂x = w/D − [min]·Σw/D + ([min] − [max])·Σw(x − min)/D²
        // with w = 1, 2, 3: Σw = 6, Σw(x − min) = 16 → [1/4 − 6/4 + 1, 2/4, 3/4 − 1] (then ÷ w)
        for (a, b) in g.iter().zip([-0.25f32, 0.25, -0.25 / 3.0]) {
            assert!((a - b).abs() < 1e-6, "{g:?}");
        }
        let y = clamp_by_linear(&Tensor::from_slice(&[1.0f64, 3.0, 5.0]), 1e-5).unwrap();
        assert_eq!(y.double_value(&[1]), 2.0 / (4.0 + 1e-5));
        assert!(
            clamp_by_linear(&Tensor::zeros([0], (Kind::Float, tch::Device::Cpu)), 1e-5).is_err()
        );
    }
}
