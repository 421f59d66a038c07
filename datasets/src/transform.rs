//! Batch transforms: torchvision's `ToTensor` and `Normalize`, and any function of a tensor.
//!
//! A [`crate::DataLoader`] applies its transforms, in order, to each whole batch `[B, C, *]` after
//! moving it to the loader's device; element-wise transforms give the same values as
//! torchvision's per-sample ones.
use crate::error::{DatasetError, Result};
use std::fmt;
use tch::{Kind, Tensor};

/// A function of a batch.
pub trait Transform: Send + Sync {
    /// The transformed batch.
    fn apply(&self, x: &Tensor) -> Result<Tensor>;
    /// A short description, e.g. `Normalize(mean=[0.5], std=[0.5])`.
    fn describe(&self) -> String {
        "Lambda".into()
    }
}

impl<F: Fn(&Tensor) -> Result<Tensor> + Send + Sync> Transform for F {
    fn apply(&self, x: &Tensor) -> Result<Tensor> {
        self(x)
    }
}

impl fmt::Debug for dyn Transform {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.describe())
    }
}

/// `ToTensor()`: 8-bit images become float32 in [0, 1] (divided by 255); other kinds become
/// float32 unchanged.
#[derive(Clone, Copy, Debug, Default)]
pub struct ToTensor;

impl Transform for ToTensor {
    fn apply(&self, x: &Tensor) -> Result<Tensor> {
        let y = x.f_to_kind(Kind::Float)?;
        Ok(if x.kind() == Kind::Uint8 {
            y.f_div_scalar(255.0)?
        } else {
            y
        })
    }
    fn describe(&self) -> String {
        "ToTensor()".into()
    }
}

/// `Normalize(mean, std)`: `(x − mean[c]) / std[c]` per channel `c` (dimension 1 of a batch).
#[derive(Clone, Debug, PartialEq)]
pub struct Normalize {
    mean: Vec<f64>,
    std: Vec<f64>,
}

impl Normalize {
    /// One mean and one non-zero std per channel.
    pub fn new(mean: &[f64], std: &[f64]) -> Result<Self> {
        if mean.is_empty() || mean.len() != std.len() {
            return Err(DatasetError::config(
                "Normalize",
                format!("{} means for {} stds", mean.len(), std.len()),
            ));
        }
        if std.iter().any(|&s| s == 0.0 || !s.is_finite()) {
            return Err(DatasetError::config(
                "Normalize",
                format!("std must be finite and non-zero, got {std:?}"),
            ));
        }
        Ok(Normalize {
            mean: mean.to_vec(),
            std: std.to_vec(),
        })
    }
}

impl Transform for Normalize {
    fn apply(&self, x: &Tensor) -> Result<Tensor> {
        let size = x.size();
        if !x.is_floating_point() || size.len() < 2 || size[1] != self.mean.len() as i64 {
            return Err(DatasetError::config(
                "Normalize",
                format!(
                    "expected a float batch [B, {}, *], got {:?} {size:?} (apply ToTensor first)",
                    self.mean.len(),
                    x.kind()
                ),
            ));
        }
        let mut shape = vec![1i64; size.len()];
        shape[1] = self.mean.len() as i64;
        let as_tensor = |v: &[f64]| {
            Tensor::from_slice(v)
                .to_kind(x.kind())
                .to_device(x.device())
                .view(&shape[..])
        };
        Ok(x.f_sub(&as_tensor(&self.mean))?
            .f_div(&as_tensor(&self.std))?)
    }
    fn describe(&self) -> String {
        format!("Normalize(mean={:?}, std={:?})", self.mean, self.std)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn to_tensor_scales_bytes_only() {
        let x = Tensor::from_slice(&[0u8, 51, 255]).view([1, 1, 3]);
        let y = ToTensor.apply(&x).unwrap();
        assert_eq!(y.kind(), Kind::Float);
        assert_eq!(
            Vec::<f32>::try_from(&y.flatten(0, -1)).unwrap(),
            vec![0.0, 0.2, 1.0]
        );
        let f = Tensor::from_slice(&[2.0f64]);
        assert_eq!(ToTensor.apply(&f).unwrap().double_value(&[0]), 2.0);
    }

    #[test]
    fn normalize_per_channel() {
        // channel 0: (1 - 0.5)/0.25 = 2; channel 1: (1 - 0)/2 = 0.5
        let n = Normalize::new(&[0.5, 0.0], &[0.25, 2.0]).unwrap();
        let y = n
            .apply(&Tensor::ones([1, 2, 1], (Kind::Float, tch::Device::Cpu)))
            .unwrap();
        assert_eq!(
            Vec::<f32>::try_from(&y.flatten(0, -1)).unwrap(),
            vec![2.0, 0.5]
        );
        assert_eq!(n.describe(), "Normalize(mean=[0.5, 0.0], std=[0.25, 2.0])");
        let e = n
            .apply(&Tensor::ones([1, 3, 1], (Kind::Float, tch::Device::Cpu)))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("expected a float batch [B, 2, *], got Float [1, 3, 1]"),
            "{e}"
        );
        assert!(n
            .apply(&Tensor::ones([1, 2], (Kind::Uint8, tch::Device::Cpu)))
            .is_err());
        assert!(Normalize::new(&[0.5], &[0.0]).is_err());
        assert!(Normalize::new(&[0.5], &[1.0, 2.0]).is_err());
    }

    #[test]
    fn closures_are_transforms() {
        let flatten = |x: &Tensor| -> Result<Tensor> { Ok(x.flatten(1, -1)) };
        let t: &dyn Transform = &flatten;
        assert_eq!(
            t.apply(&Tensor::zeros(
                [2, 1, 3, 3],
                (Kind::Float, tch::Device::Cpu)
            ))
            .unwrap()
            .size(),
            vec![2, 9]
        );
        assert_eq!(format!("{t:?}"), "Lambda");
    }
}
