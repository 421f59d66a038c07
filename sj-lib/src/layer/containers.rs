//! `layer.MultiStepContainer`, `layer.SeqToANNContainer` and `layer.StepModeContainer`: wrappers
//! that run single-step modules over a sequence (inventory §1.6, §2.4.1).
//!
//! Children are added with `.add(m)` and named `"0"`, `"1"`, ..., so a container adds one level to
//! the `state_dict` keys (`"0.0.weight"` inside a `Sequential`). Children must be in step mode `'s'`
//! and stay there: `functional::set_step_mode` changes only the container. (SpikingJelly exempts
//! only `StepModeContainer`'s children, but there the other two usually hold plain `torch.nn`
//! layers, which have no step mode; here every child has one, so all three keep it `'s'`.)
use crate::base::{check_dims, Module, StepMode};
use crate::error::{Result, SjError};
use crate::functional::{multi_step_forward, seq_to_ann_forward};
use crate::layer::Sequential;
use tch::Tensor;

/// Errors (naming `container` and the child) unless `child` is in step mode `'s'`.
fn check_single_step(container: &str, child: &dyn Module) -> Result<()> {
    if child.step_mode() == StepMode::S {
        return Ok(());
    }
    Err(SjError::config(
        container,
        format!(
            "its children must be in step mode 's', but {} is in step mode '{}'",
            child.type_name(),
            child.step_mode()
        ),
    ))
}

/// The children of a container: a [`Sequential`] whose modules are checked to be single-step.
#[derive(Debug, Default)]
struct Children(Sequential);

impl Children {
    fn add(&mut self, container: &str, module: Box<dyn Module>) -> Result<()> {
        check_single_step(container, module.as_ref())?;
        self.0.push(module);
        Ok(())
    }

    /// The children, checked again (a child may have been switched through `children_mut`).
    fn checked(&mut self, container: &str) -> Result<&mut Sequential> {
        for (_, child) in self.0.children() {
            check_single_step(container, child)?;
        }
        Ok(&mut self.0)
    }

    /// Runs the children on every `x_seq[t]` in turn (`multi_step_forward`).
    fn multi_step(&mut self, container: &str, x_seq: &Tensor) -> Result<Tensor> {
        check_dims(container, x_seq, 2, "[T, N, *] in step mode 'm'")?;
        multi_step_forward(x_seq, self.checked(container)?)
    }

    /// Runs the children once on the `[T·N, *]` batch (`seq_to_ann_forward`).
    fn seq_to_ann(&mut self, container: &str, x_seq: &Tensor) -> Result<Tensor> {
        let children = self.checked(container)?;
        seq_to_ann_forward(container, x_seq, |x| children.forward(x))
    }
}

/// Implements the [`Module`] methods every container shares.
macro_rules! container_common {
    () => {
        fn step_mode(&self) -> StepMode {
            self.step_mode
        }
        fn step_mode_slot(&mut self) -> &mut StepMode {
            &mut self.step_mode
        }
        fn propagates_step_mode(&self) -> bool {
            false
        }
        fn children(&self) -> Vec<(String, &dyn Module)> {
            self.children.0.children()
        }
        fn children_mut(&mut self) -> Vec<(String, &mut dyn Module)> {
            self.children.0.children_mut()
        }
        fn child_slots_mut(&mut self) -> Vec<(String, &mut Box<dyn Module>)> {
            self.children.0.child_slots_mut()
        }
        fn hooks(&self) -> Option<&crate::base::Hooks> {
            self.children.0.hooks()
        }
    };
}

/// `MultiStepContainer(*modules)`: runs single-step (usually stateful) modules over `x_seq[t]` one
/// time step at a time and stacks the outputs. Step mode `'m'` only.
#[derive(Debug)]
pub struct MultiStepContainer {
    children: Children,
    step_mode: StepMode,
}

impl Default for MultiStepContainer {
    fn default() -> Self {
        MultiStepContainer {
            children: Children::default(),
            step_mode: StepMode::M,
        }
    }
}

impl MultiStepContainer {
    /// An empty container.
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends a module; errors if it is not in step mode `'s'`.
    #[allow(clippy::should_implement_trait)] // a builder, named like `Sequential::add`
    pub fn add<M: Module + 'static>(mut self, module: M) -> Result<Self> {
        self.children.add("MultiStepContainer", Box::new(module))?;
        Ok(self)
    }
}

impl Module for MultiStepContainer {
    fn type_name(&self) -> &'static str {
        "MultiStepContainer"
    }
    fn forward(&mut self, x_seq: &Tensor) -> Result<Tensor> {
        self.children.multi_step("MultiStepContainer", x_seq)
    }
    fn supported_step_modes(&self) -> &'static [StepMode] {
        &[StepMode::M]
    }
    fn extra_repr(&self) -> String {
        String::new()
    }
    container_common!();
}

/// `SeqToANNContainer(*modules)`: runs stateless single-step modules once on the `[T·N, *]` batch
/// (all time steps in parallel) and reshapes back to `[T, N, *]`. Step mode `'m'` only.
#[derive(Debug)]
pub struct SeqToANNContainer {
    children: Children,
    step_mode: StepMode,
}

impl Default for SeqToANNContainer {
    fn default() -> Self {
        SeqToANNContainer {
            children: Children::default(),
            step_mode: StepMode::M,
        }
    }
}

impl SeqToANNContainer {
    /// An empty container.
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends a module; errors if it is not in step mode `'s'`.
    #[allow(clippy::should_implement_trait)] // a builder, named like `Sequential::add`
    pub fn add<M: Module + 'static>(mut self, module: M) -> Result<Self> {
        self.children.add("SeqToANNContainer", Box::new(module))?;
        Ok(self)
    }
}

impl Module for SeqToANNContainer {
    fn type_name(&self) -> &'static str {
        "SeqToANNContainer"
    }
    fn forward(&mut self, x_seq: &Tensor) -> Result<Tensor> {
        self.children.seq_to_ann("SeqToANNContainer", x_seq)
    }
    fn supported_step_modes(&self) -> &'static [StepMode] {
        &[StepMode::M]
    }
    fn extra_repr(&self) -> String {
        String::new()
    }
    container_common!();
}

/// `StepModeContainer(stateful, *modules)`: in step mode `'s'` a plain sequential; in `'m'` the
/// [`MultiStepContainer`] loop when `stateful`, else the [`SeqToANNContainer`] batch.
#[derive(Debug)]
pub struct StepModeContainer {
    stateful: bool,
    children: Children,
    step_mode: StepMode,
}

impl StepModeContainer {
    /// An empty container in step mode `'s'`; `stateful` picks the multi-step strategy.
    pub fn new(stateful: bool) -> Self {
        StepModeContainer {
            stateful,
            children: Children::default(),
            step_mode: StepMode::S,
        }
    }

    /// Appends a module; errors if it is not in step mode `'s'`.
    #[allow(clippy::should_implement_trait)] // a builder, named like `Sequential::add`
    pub fn add<M: Module + 'static>(mut self, module: M) -> Result<Self> {
        self.children.add("StepModeContainer", Box::new(module))?;
        Ok(self)
    }

    /// `step_mode=`.
    pub fn with_step_mode(mut self, step_mode: StepMode) -> Self {
        self.step_mode = step_mode;
        self
    }

    /// Whether the children are run step by step in mode `'m'`.
    pub fn stateful(&self) -> bool {
        self.stateful
    }
}

impl Module for StepModeContainer {
    fn type_name(&self) -> &'static str {
        "StepModeContainer"
    }
    fn forward(&mut self, x: &Tensor) -> Result<Tensor> {
        const NAME: &str = "StepModeContainer";
        match (self.step_mode, self.stateful) {
            (StepMode::S, _) => self.children.checked(NAME)?.forward(x),
            (StepMode::M, true) => self.children.multi_step(NAME, x),
            (StepMode::M, false) => self.children.seq_to_ann(NAME, x),
        }
    }
    fn extra_repr(&self) -> String {
        format!(
            "stateful={}, step_mode={}",
            if self.stateful { "True" } else { "False" },
            self.step_mode
        )
    }
    container_common!();
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::functional::{reset_net, set_step_mode, state_dict};
    use crate::layer::{BatchNorm2d, Conv2d, ConvOptions};
    use crate::neuron::{IFNode, NodeOptions};
    use tch::{nn, Device, Kind};

    fn x_seq() -> Tensor {
        tch::manual_seed(4);
        Tensor::rand([4, 2, 3, 5, 5], (Kind::Float, Device::Cpu)) * 2.0
    }

    fn max_diff(a: &Tensor, b: &Tensor) -> f64 {
        (a - b).abs().max().double_value(&[])
    }

    #[test]
    fn multi_step_container_equals_a_multi_step_neuron() {
        let x = x_seq();
        let mut c = MultiStepContainer::new().add(IFNode::new()).unwrap();
        let y = c.forward(&x).unwrap();
        let mut node = IFNode::new().with_step_mode(StepMode::M);
        assert_eq!(max_diff(&y, &node.forward(&x).unwrap()), 0.0);
        assert!(y.sum(Kind::Float).double_value(&[]) > 0.0);
        assert_eq!(c.supported_step_modes(), [StepMode::M]);
        let err = c.set_step_mode(StepMode::S).unwrap_err().to_string();
        assert!(err.contains("MultiStepContainer"), "{err}");
        let err = c
            .forward(&Tensor::zeros([3], (Kind::Float, Device::Cpu)))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("MultiStepContainer") && err.contains("[T, N, *]"),
            "{err}"
        );
    }

    #[test]
    fn seq_to_ann_container_equals_layer_by_layer_and_prefixes_state_dict_keys() {
        let vs = nn::VarStore::new(Device::Cpu);
        let p = vs.root() / "0";
        let conv = Conv2d::new_with(
            &(&p / "0"),
            3,
            8,
            3,
            ConvOptions::new().with_padding(1).with_bias(false),
        )
        .unwrap();
        let bn = BatchNorm2d::new(&(&p / "1"), 8).unwrap();
        let mut net =
            Sequential::new().add(SeqToANNContainer::new().add(conv).unwrap().add(bn).unwrap());
        let names: Vec<String> = state_dict(&net).into_iter().map(|(k, _)| k).collect();
        assert_eq!(
            names,
            [
                "0.0.weight",
                "0.1.weight",
                "0.1.bias",
                "0.1.running_mean",
                "0.1.running_var",
                "0.1.num_batches_tracked"
            ]
        );
        let mut stored: Vec<String> = vs.variables().into_keys().collect();
        stored.sort();
        let mut sorted = names.clone();
        sorted.sort();
        assert_eq!(stored, sorted);

        let x = x_seq();
        let y = net.forward(&x).unwrap();
        assert_eq!(y.size(), [4, 2, 8, 5, 5]);
        // the same layers in step mode 'm' (one T·N batch each) give the same result
        let vs_twin = nn::VarStore::new(Device::Cpu);
        let mut twin = Sequential::new()
            .add(
                Conv2d::new_with(
                    &(vs_twin.root() / "0"),
                    3,
                    8,
                    3,
                    ConvOptions::new().with_padding(1).with_bias(false),
                )
                .unwrap(),
            )
            .add(BatchNorm2d::new(&(vs_twin.root() / "1"), 8).unwrap());
        let weights = state_dict(&net);
        tch::no_grad(|| state_dict(&twin)[0].1.copy_(&weights[0].1));
        set_step_mode(&mut twin, StepMode::M).unwrap();
        assert_eq!(max_diff(&y, &twin.forward(&x).unwrap()), 0.0);
        // set_step_mode leaves the children in 's'
        set_step_mode(&mut net, StepMode::M).unwrap();
        assert!(net
            .get(0)
            .unwrap()
            .children()
            .iter()
            .all(|(_, c)| c.step_mode() == StepMode::S));
    }

    #[test]
    fn step_mode_container_keeps_children_single_step() {
        let mut net = StepModeContainer::new(true).add(IFNode::new()).unwrap();
        set_step_mode(&mut net, StepMode::M).unwrap();
        assert_eq!(net.step_mode(), StepMode::M);
        assert_eq!(net.children()[0].1.step_mode(), StepMode::S);
        assert_eq!(net.extra_repr(), "stateful=True, step_mode=m");
        let x = x_seq();
        let y_m = net.forward(&x).unwrap();
        reset_net(&mut net);
        set_step_mode(&mut net, StepMode::S).unwrap();
        let y_s = Tensor::stack(
            &(0..4)
                .map(|t| net.forward(&x.get(t)).unwrap())
                .collect::<Vec<_>>(),
            0,
        );
        assert_eq!(max_diff(&y_m, &y_s), 0.0);
        assert!(y_m.sum(Kind::Float).double_value(&[]) > 0.0);
    }

    #[test]
    fn stateless_step_mode_container_matches_in_both_modes() {
        let vs = nn::VarStore::new(Device::Cpu);
        let p = vs.root();
        let mut net = StepModeContainer::new(false)
            .add(
                Conv2d::new_with(&(&p / "0"), 3, 4, 3, ConvOptions::new().with_padding(1)).unwrap(),
            )
            .unwrap()
            .add(BatchNorm2d::new(&(&p / "1"), 4).unwrap())
            .unwrap();
        crate::functional::set_training(&mut net, false);
        let x = x_seq();
        let y_s = Tensor::stack(
            &(0..4)
                .map(|t| net.forward(&x.get(t)).unwrap())
                .collect::<Vec<_>>(),
            0,
        );
        net.set_step_mode(StepMode::M).unwrap();
        let y_m = net.forward(&x).unwrap();
        assert_eq!(y_m.size(), [4, 2, 4, 5, 5]);
        assert_eq!(max_diff(&y_m, &y_s), 0.0);
    }

    #[test]
    fn multi_step_children_are_rejected() {
        let err = MultiStepContainer::new()
            .add(IFNode::new().with_step_mode(StepMode::M))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("MultiStepContainer") && err.contains("IFNode") && err.contains("'m'"),
            "{err}"
        );
        assert!(SeqToANNContainer::new()
            .add(IFNode::new().with_step_mode(StepMode::M))
            .is_err());
        let mut net = StepModeContainer::new(true).add(IFNode::new()).unwrap();
        net.children_mut()[0].1.set_step_mode(StepMode::M).unwrap();
        let err = net
            .forward(&Tensor::zeros([2, 3], (Kind::Float, Device::Cpu)))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("StepModeContainer") && err.contains("IFNode"),
            "{err}"
        );
    }
}
