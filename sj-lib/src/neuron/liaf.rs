//! `LIAFNode`: leaky integrate and analog fire.
use super::lif::LIFNode;
use super::{BaseNode, Neuron};
use crate::base::Memory;
use crate::error::Result;
use tch::Tensor;

/// LIAF: LIF dynamics (spikes still drive the reset) but the output is analog,
/// `act(H − V_th)` when `threshold_related`, else `act(H)`.
#[derive(Debug)]
pub struct LIAFNode {
    lif: LIFNode,
    /// The activation applied to the charged potential.
    pub act: fn(&Tensor) -> Tensor,
    /// TR mode: subtract the threshold before `act`.
    pub threshold_related: bool,
}

impl LIAFNode {
    /// `LIAFNode(act, threshold_related, tau)`; the other LIF options through the builder methods.
    pub fn new(act: fn(&Tensor) -> Tensor, threshold_related: bool, tau: f64) -> Result<Self> {
        super::check_tau("LIAFNode", "tau", tau)?;
        Ok(LIAFNode {
            lif: LIFNode::new(tau)?,
            act,
            threshold_related,
        })
    }

    /// `decay_input=` of the underlying LIF dynamics.
    pub fn with_decay_input(mut self, decay_input: bool) -> Self {
        self.lif.decay_input = decay_input;
        self
    }
}

impl Neuron for LIAFNode {
    fn type_name(&self) -> &'static str {
        "LIAFNode"
    }
    fn node(&self) -> &BaseNode {
        self.lif.node()
    }
    fn node_mut(&mut self) -> &mut BaseNode {
        self.lif.node_mut()
    }
    fn neuronal_charge(&self, x: &Tensor, v: &Tensor) -> Tensor {
        self.lif.neuronal_charge(x, v)
    }
    fn neuron_repr(&self) -> String {
        format!(
            "{}, threshold_related={}",
            self.lif.neuron_repr(),
            if self.threshold_related {
                "True"
            } else {
                "False"
            }
        )
    }
    fn single_step_forward(&mut self, x: &Tensor) -> Result<Tensor> {
        let v = self.node_mut().v.to_tensor_like("LIAFNode", x)?;
        let h = self.neuronal_charge(x, &v);
        let y = if self.threshold_related {
            (self.act)(&(&h - self.node().v_threshold))
        } else {
            (self.act)(&h)
        };
        let spike = self.node().fire(&h);
        let v = self.node().reset_potential(&h, &spike);
        self.node_mut().v = Memory::Tensor(v);
        Ok(y)
    }
}
