//! `set_threshold_margin` of `activation_based.functional` (inventory §2.5).
use crate::error::{Result, SjError};
use crate::neuron::Neuron;
use tch::{Kind, Tensor};

/// `set_threshold_margin(output_layer, label_one_hot, eval_threshold=1.0, threshold0=0.9, threshold1=1.1)`,
/// plus `training` (SpikingJelly reads `output_layer.training`).
///
/// In training, the output layer's threshold is `threshold1` at the true class (`label_one_hot == 1`) and
/// `threshold0` elsewhere. In evaluation the layer's `v_threshold` is set to `eval_threshold` and `None`
/// is returned.
///
/// **Limitation:** sj's [`BaseNode`](crate::neuron::BaseNode) holds `v_threshold` as an `f64`, so in
/// training the per-element threshold `[batch_size, C]` is *returned* (as a float tensor) and the layer's
/// `v_threshold` is left unchanged. For neurons whose charge is linear in `(V, X)` with `v_reset = 0` or
/// the soft reset (IF, LIF), feeding the layer `x / threshold` with `v_threshold = 1.0` fires exactly
/// where the per-element threshold would (the surrogate gradient is scaled by the threshold).
pub fn set_threshold_margin(
    output_layer: &mut dyn Neuron,
    label_one_hot: &Tensor,
    eval_threshold: f64,
    threshold0: f64,
    threshold1: f64,
    training: bool,
) -> Result<Option<Tensor>> {
    if label_one_hot.dim() != 2 {
        return Err(SjError::Shape {
            module: "set_threshold_margin".into(),
            expected: "label_one_hot [batch_size, C]".into(),
            got: label_one_hot.size(),
        });
    }
    if !training {
        output_layer.node_mut().v_threshold = eval_threshold;
        return Ok(None);
    }
    let kind = if label_one_hot.is_floating_point() {
        label_one_hot.kind()
    } else {
        Kind::Float
    };
    let options = (kind, label_one_hot.device());
    let low = Tensor::full(label_one_hot.size(), threshold0, options);
    let high = Tensor::full(label_one_hot.size(), threshold1, options);
    Ok(Some(high.where_self(&label_one_hot.eq(1), &low)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::base::Module;
    use crate::neuron::{IFNode, NodeOptions};
    use tch::Device;

    fn f32s(t: &Tensor) -> Vec<f32> {
        Vec::<f32>::try_from(&t.flatten(0, -1)).unwrap()
    }

    #[test]
    fn training_returns_the_margin_thresholds_and_eval_sets_the_layer() {
        let mut out = IFNode::new();
        let labels = Tensor::from_slice(&[0i64, 2]).one_hot(3);
        let thr = set_threshold_margin(&mut out, &labels, 1.0, 0.9, 1.1, true)
            .unwrap()
            .unwrap();
        assert_eq!(thr.kind(), Kind::Float);
        assert_eq!(f32s(&thr), vec![1.1, 0.9, 0.9, 0.9, 0.9, 1.1]);
        assert_eq!(
            out.node().v_threshold,
            1.0,
            "training leaves the scalar threshold alone"
        );
        assert!(
            set_threshold_margin(&mut out, &labels, 0.8, 0.9, 1.1, false)
                .unwrap()
                .is_none()
        );
        assert_eq!(out.node().v_threshold, 0.8);
        let err = set_threshold_margin(
            &mut out,
            &Tensor::from_slice(&[1f32, 0.]),
            1.0,
            0.9,
            1.1,
            true,
        )
        .unwrap_err();
        assert!(
            err.to_string().contains("set_threshold_margin") && err.to_string().contains("[2]"),
            "{err}"
        );
    }

    #[test]
    fn dividing_the_input_by_the_margin_fires_like_a_per_element_threshold() {
        let labels = Tensor::from_slice(&[1f32, 0., 0., 1.]).view([2, 2]);
        let mut probe = IFNode::new();
        let thr = set_threshold_margin(&mut probe, &labels, 1.0, 0.9, 1.1, true)
            .unwrap()
            .unwrap();
        // Two steps of input 0.5 then 0.55: v = 1.05 after step 2, above 0.9 but below 1.1.
        let mut layer = IFNode::new().with_v_threshold(1.0);
        let x = |v: f32| Tensor::full([2, 2], v as f64, (Kind::Float, Device::Cpu));
        let s1 = layer.forward(&(x(0.5) / &thr)).unwrap();
        let s2 = layer.forward(&(x(0.55) / &thr)).unwrap();
        assert_eq!(f32s(&s1), vec![0., 0., 0., 0.]);
        assert_eq!(
            f32s(&s2),
            vec![0., 1., 1., 0.],
            "fires only where the threshold is 0.9"
        );
    }
}
