//! Element-wise modules without parameters, as in `torch.nn`: `ReLU` (the activation ANNs are built
//! from, which [`crate::ann2snn`] turns into IF neurons) and `Identity` (what a folded BatchNorm
//! leaves behind). Element-wise, so the same in step modes `s` and `m`.
use crate::base::{Module, StepMode};
use crate::error::{op_error, Result};
use tch::Tensor;

macro_rules! elementwise {
    ($(#[$doc:meta])* $name:ident, $op:expr) => {
        $(#[$doc])*
        #[derive(Debug, Default)]
        pub struct $name {
            step_mode: StepMode,
        }

        impl $name {
            #[doc = concat!("`", stringify!($name), "()`.")]
            pub fn new() -> Self {
                Self::default()
            }
        }

        impl Module for $name {
            fn type_name(&self) -> &'static str {
                stringify!($name)
            }
            fn forward(&mut self, x: &Tensor) -> Result<Tensor> {
                let op: fn(&Tensor) -> std::result::Result<Tensor, tch::TchError> = $op;
                op(x).map_err(op_error(stringify!($name)))
            }
            fn step_mode(&self) -> StepMode {
                self.step_mode
            }
            fn step_mode_slot(&mut self) -> &mut StepMode {
                &mut self.step_mode
            }
            fn extra_repr(&self) -> String {
                String::new()
            }
            fn as_any(&self) -> Option<&dyn std::any::Any> {
                Some(self)
            }
        }
    };
}

elementwise!(
    /// `nn.ReLU()`: `max(x, 0)`, any shape.
    ReLU,
    |x| x.f_relu()
);
elementwise!(
    /// `nn.Identity()`: returns its input.
    Identity,
    |x| Ok(x.shallow_clone())
);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::base::repr;

    #[test]
    fn relu_and_identity() {
        let x = Tensor::from_slice(&[-1.5f32, 0.0, 2.0]);
        let y = ReLU::new().forward(&x).unwrap();
        assert_eq!(Vec::<f32>::try_from(&y).unwrap(), [0.0, 0.0, 2.0]);
        assert!(Identity::new().forward(&x).unwrap().equal(&x));
        assert_eq!(repr(&ReLU::new()), "ReLU()");
        assert!(ReLU::new().forward(&Tensor::from(1i64)).is_ok());
    }
}
