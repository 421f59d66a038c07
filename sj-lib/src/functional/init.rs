//! `kaiming_normal_conv_linear_weight` of `activation_based.functional` (inventory §2.5).
use super::walk_mut;
use crate::base::Module;
use crate::error::{Result, SjError};

/// The layers SpikingJelly matches with `isinstance(m, (nn.modules.conv._ConvNd, nn.Linear))`.
const CONV_LINEAR: &[&str] = &[
    "Linear",
    "Conv1d",
    "Conv2d",
    "Conv3d",
    "ConvTranspose1d",
    "ConvTranspose2d",
    "ConvTranspose3d",
];

/// `kaiming_normal_conv_linear_weight(net)`: `torch.nn.init.kaiming_normal_(weight, a=√5)` on the
/// `weight` (not the bias) of every Linear and Conv1d/2d/3d (and ConvTranspose) module in the tree:
/// `weight ~ N(0, std²)` with `std = √(2 / (1 + a²)) / √fan_in = 1 / √(3·fan_in)` and
/// `fan_in = weight.size(1) · ∏ weight.size(2..)`.
pub fn kaiming_normal_conv_linear_weight(net: &mut dyn Module) -> Result<()> {
    let mut failure = None;
    walk_mut(net, &mut |m| {
        if failure.is_some() || !CONV_LINEAR.contains(&m.type_name()) {
            return;
        }
        for (_, mut weight) in m
            .named_tensors()
            .into_iter()
            .filter(|(name, _)| name == "weight")
        {
            let size = weight.size();
            if size.len() < 2 {
                failure = Some(SjError::Shape {
                    module: format!("kaiming_normal_conv_linear_weight ({})", m.type_name()),
                    expected: "a weight with at least 2 dimensions".into(),
                    got: size,
                });
                return;
            }
            let fan_in: i64 = size[1..].iter().product();
            let std = 1.0 / (3.0 * fan_in as f64).sqrt();
            let _ = tch::no_grad(|| weight.normal_(0.0, std));
        }
    });
    failure.map_or(Ok(()), Err)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::base::{NamedTensor, StepMode};
    use crate::layer::{Linear, Sequential};
    use crate::neuron::IFNode;
    use tch::{nn, Device, Kind, Tensor};

    /// A stand-in with a convolution's type name and weight shape.
    #[derive(Debug)]
    struct FakeConv2d {
        weight: Tensor,
        step_mode: StepMode,
    }

    impl Module for FakeConv2d {
        fn type_name(&self) -> &'static str {
            "Conv2d"
        }
        fn forward(&mut self, x: &Tensor) -> Result<Tensor> {
            Ok(x.shallow_clone())
        }
        fn step_mode(&self) -> StepMode {
            self.step_mode
        }
        fn step_mode_slot(&mut self) -> &mut StepMode {
            &mut self.step_mode
        }
        fn named_tensors(&self) -> Vec<NamedTensor> {
            vec![("weight".into(), self.weight.shallow_clone())]
        }
    }

    fn std_of(t: &Tensor) -> f64 {
        t.std(true).double_value(&[])
    }

    #[test]
    fn weights_get_kaiming_std_and_biases_are_kept() {
        tch::manual_seed(7);
        let vs = nn::VarStore::new(Device::Cpu);
        let p = vs.root();
        let conv = FakeConv2d {
            weight: Tensor::zeros([64, 16, 3, 3], (Kind::Float, Device::Cpu)),
            step_mode: StepMode::S,
        };
        let mut net = Sequential::new()
            .add(Linear::new(&(&p / "0"), 1000, 100, true).unwrap())
            .add(IFNode::new())
            .add(conv);
        let bias_before = net.get(0).unwrap().named_tensors()[1].1.copy();
        kaiming_normal_conv_linear_weight(&mut net).unwrap();

        let linear = net.get(0).unwrap().named_tensors();
        let w = &linear[0].1;
        // fan_in = 1000: std = 1/√3000 = 0.018257; 100 000 samples put the estimate within 1 %.
        assert!(
            (std_of(w) / (1.0 / 3000f64.sqrt()) - 1.0).abs() < 0.01,
            "{}",
            std_of(w)
        );
        assert!(w.mean(Kind::Float).double_value(&[]).abs() < 3e-4);
        assert!(w.requires_grad(), "still a trainable leaf");
        assert_eq!(
            (&linear[1].1 - bias_before).abs().max().double_value(&[]),
            0.0
        );
        // Conv2d [64, 16, 3, 3]: fan_in = 144, std = 1/√432 = 0.04811; 9216 samples: within 3 %.
        let cw = &net.get(2).unwrap().named_tensors()[0].1;
        assert!(
            (std_of(cw) / (1.0 / 432f64.sqrt()) - 1.0).abs() < 0.03,
            "{}",
            std_of(cw)
        );
    }
}
