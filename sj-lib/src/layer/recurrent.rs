//! `layer.ElementWiseRecurrentContainer` and `layer.LinearRecurrentContainer`: feed a module's last
//! output back into its input (inventory §2.4.1, tutorial "Recurrent Connection").
//!
//! Both are stateful (memory `y`, `y[−1] = 0`; call `functional::reset_net` between batches), run in
//! either step mode (`'m'` loops over `t`), and keep their sub-module in step mode `'s'`:
//! `functional::set_step_mode` changes only the container.
use crate::base::{check_dims, check_float, check_like, Hooks, Memory, Module, StepMode};
use crate::error::{op_error, torch_guard, Result, SjError};
use crate::functional::step_by_step;
use crate::layer::Linear;
use tch::{nn, Tensor};

/// Errors unless the wrapped module is in step mode `'s'`.
fn check_sub_module(container: &str, sub_module: &dyn Module) -> Result<()> {
    if sub_module.step_mode() == StepMode::S {
        return Ok(());
    }
    Err(SjError::config(
        container,
        format!(
            "sub_module must be in step mode 's', but {} is in step mode '{}'",
            sub_module.type_name(),
            sub_module.step_mode()
        ),
    ))
}

/// Runs `step` on `x` (`'s'`) or on every `x[t]`, stacking the results (`'m'`).
fn over_time(
    module: &str,
    step_mode: StepMode,
    x: &Tensor,
    mut step: impl FnMut(&Tensor) -> Result<Tensor>,
) -> Result<Tensor> {
    match step_mode {
        StepMode::S => {
            check_dims(module, x, 1, "[N, *] in step mode 's'")?;
            torch_guard(module, || step(x))
        }
        StepMode::M => step_by_step(module, x, step),
    }
}

/// The element-wise function of an [`ElementWiseRecurrentContainer`], called as `f(y[t−1], x[t])`.
pub type ElementWiseFunction = fn(&Tensor, &Tensor) -> Tensor;

/// `ElementWiseRecurrentContainer(sub_module, element_wise_function)`:
/// `i[t] = f(y[t−1], x[t])`, `y[t] = sub_module(i[t])`, `y[−1] = 0`. The sub-module must return
/// its input's shape. (SpikingJelly's docs write `f(x[t], y[t−1])`; its source, followed here,
/// calls `f(y[t−1], x[t])`.)
#[derive(Debug)]
pub struct ElementWiseRecurrentContainer {
    sub_module: Box<dyn Module>,
    element_wise_function: ElementWiseFunction,
    y: Memory,
    step_mode: StepMode,
    hooks: Hooks,
}

impl ElementWiseRecurrentContainer {
    /// Wraps `sub_module` (which must be in step mode `'s'`) with the feedback `f(y_prev, x)`.
    pub fn new<M: Module + 'static>(
        sub_module: M,
        element_wise_function: ElementWiseFunction,
    ) -> Result<Self> {
        check_sub_module("ElementWiseRecurrentContainer", &sub_module)?;
        Ok(ElementWiseRecurrentContainer {
            sub_module: Box::new(sub_module),
            element_wise_function,
            y: Memory::Float(0.0),
            step_mode: StepMode::S,
            hooks: Hooks::new(),
        })
    }

    /// `step_mode=`.
    pub fn with_step_mode(mut self, step_mode: StepMode) -> Self {
        self.step_mode = step_mode;
        self
    }

    fn single_step(&mut self, x: &Tensor) -> Result<Tensor> {
        const NAME: &str = "ElementWiseRecurrentContainer";
        check_sub_module(NAME, self.sub_module.as_ref())?;
        check_float(NAME, x)?;
        let y_prev = self.y.to_tensor_like(NAME, x)?;
        let i = (self.element_wise_function)(&y_prev, x);
        let y = self
            .hooks
            .call("sub_module", self.sub_module.as_mut(), &i)?;
        if y.size() != x.size() {
            return Err(SjError::Shape {
                module: NAME.into(),
                expected: format!("sub_module to return its input's shape {:?}", x.size()),
                got: y.size(),
            });
        }
        self.y = Memory::Tensor(y.shallow_clone());
        Ok(y)
    }
}

impl Module for ElementWiseRecurrentContainer {
    fn type_name(&self) -> &'static str {
        "ElementWiseRecurrentContainer"
    }
    fn forward(&mut self, x: &Tensor) -> Result<Tensor> {
        over_time("ElementWiseRecurrentContainer", self.step_mode, x, |x| {
            self.single_step(x)
        })
    }
    fn children(&self) -> Vec<(String, &dyn Module)> {
        vec![("sub_module".to_string(), self.sub_module.as_ref())]
    }
    fn children_mut(&mut self) -> Vec<(String, &mut dyn Module)> {
        vec![("sub_module".to_string(), self.sub_module.as_mut())]
    }
    fn extra_repr(&self) -> String {
        format!("element-wise function=<fn>, step_mode={}", self.step_mode)
    }
    fn propagates_step_mode(&self) -> bool {
        false
    }
    fn hooks(&self) -> Option<&Hooks> {
        Some(&self.hooks)
    }
    crate::memory_module! {
        step_mode: step_mode,
        memories: { "y": y = Memory::Float(0.0) },
    }
}

/// `LinearRecurrentContainer(sub_module, in_features, out_features, bias=True)`:
/// `i[t] = Linear(cat(x[t], y[t−1]))`, `y[t] = sub_module(i[t])`, `y[−1] = 0`, where `x` is
/// `[N, *, in_features]`, `y` is `[N, *, out_features]` and the recurrent layer `rc` is
/// `Linear(in_features + out_features, in_features, bias)`.
#[derive(Debug)]
pub struct LinearRecurrentContainer {
    rc: Linear,
    sub_module: Box<dyn Module>,
    in_features: i64,
    out_features: i64,
    y: Memory,
    step_mode: StepMode,
    hooks: Hooks,
}

impl LinearRecurrentContainer {
    /// Wraps `sub_module` (in step mode `'s'`, mapping `in_features` to `out_features`); the
    /// recurrent layer's `weight`/`bias` are created under `path / "rc"`, so create the
    /// sub-module's parameters under `path / "sub_module"` to match SpikingJelly's `state_dict`.
    pub fn new<M: Module + 'static>(
        path: &nn::Path,
        sub_module: M,
        in_features: i64,
        out_features: i64,
        bias: bool,
    ) -> Result<Self> {
        const NAME: &str = "LinearRecurrentContainer";
        check_sub_module(NAME, &sub_module)?;
        if in_features <= 0 || out_features <= 0 {
            return Err(SjError::config(
                NAME,
                "in_features and out_features must be positive",
            ));
        }
        Ok(LinearRecurrentContainer {
            rc: Linear::new(
                &(path / "rc"),
                in_features + out_features,
                in_features,
                bias,
            )?,
            sub_module: Box::new(sub_module),
            in_features,
            out_features,
            y: Memory::Float(0.0),
            step_mode: StepMode::S,
            hooks: Hooks::new(),
        })
    }

    /// `step_mode=`.
    pub fn with_step_mode(mut self, step_mode: StepMode) -> Self {
        self.step_mode = step_mode;
        self
    }

    /// The recurrent layer `rc`.
    pub fn rc(&self) -> &Linear {
        &self.rc
    }

    fn single_step(&mut self, x: &Tensor) -> Result<Tensor> {
        const NAME: &str = "LinearRecurrentContainer";
        check_sub_module(NAME, self.sub_module.as_ref())?;
        check_float(NAME, x)?;
        check_like(NAME, x, self.rc.weight())?;
        let mut y_shape = x.size();
        if x.dim() < 2 || y_shape.last() != Some(&self.in_features) {
            let lead = if self.step_mode == StepMode::M {
                "[T, N, *, "
            } else {
                "[N, *, "
            };
            return Err(SjError::Shape {
                module: NAME.into(),
                expected: format!("{lead}{}]", self.in_features),
                got: x.size(),
            });
        }
        let last = y_shape.len() - 1;
        y_shape[last] = self.out_features;
        let like =
            Tensor::f_empty(y_shape.as_slice(), (x.kind(), x.device())).map_err(op_error(NAME))?;
        let y_prev = self.y.to_tensor_like(NAME, &like)?;
        let xy = Tensor::f_cat(&[x, &y_prev], -1).map_err(op_error(NAME))?;
        let i = self.hooks.call("rc", &mut self.rc, &xy)?;
        let y = self
            .hooks
            .call("sub_module", self.sub_module.as_mut(), &i)?;
        if y.size() != y_shape {
            return Err(SjError::Shape {
                module: NAME.into(),
                expected: format!("sub_module to return {y_shape:?} ([N, *, out_features])"),
                got: y.size(),
            });
        }
        self.y = Memory::Tensor(y.shallow_clone());
        Ok(y)
    }
}

impl Module for LinearRecurrentContainer {
    fn type_name(&self) -> &'static str {
        "LinearRecurrentContainer"
    }
    fn forward(&mut self, x: &Tensor) -> Result<Tensor> {
        over_time("LinearRecurrentContainer", self.step_mode, x, |x| {
            self.single_step(x)
        })
    }
    fn children(&self) -> Vec<(String, &dyn Module)> {
        vec![
            ("rc".to_string(), &self.rc as &dyn Module),
            ("sub_module".to_string(), self.sub_module.as_ref()),
        ]
    }
    fn children_mut(&mut self) -> Vec<(String, &mut dyn Module)> {
        vec![
            ("rc".to_string(), &mut self.rc as &mut dyn Module),
            ("sub_module".to_string(), self.sub_module.as_mut()),
        ]
    }
    fn extra_repr(&self) -> String {
        format!(
            "in_features={}, out_features={}, step_mode={}",
            self.in_features, self.out_features, self.step_mode
        )
    }
    fn propagates_step_mode(&self) -> bool {
        false
    }
    fn hooks(&self) -> Option<&Hooks> {
        Some(&self.hooks)
    }
    crate::memory_module! {
        step_mode: step_mode,
        memories: { "y": y = Memory::Float(0.0) },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::functional::{named_memories, reset_net, set_step_mode, state_dict};
    use crate::layer::Sequential;
    use crate::neuron::{IFNode, NodeOptions};
    use tch::{Device, Kind};

    fn sub(y: &Tensor, x: &Tensor) -> Tensor {
        x - y
    }

    fn values(t: &Tensor) -> Vec<f32> {
        Vec::<f32>::try_from(&t.flatten(0, -1)).unwrap()
    }

    #[test]
    fn element_wise_feedback_spikes_every_step_checklist_288() {
        let mut x = vec![0.0f32; 8];
        x[0] = 1.5;
        let x = Tensor::from_slice(&x).view([8, 1]);
        // step by step, as in the tutorial
        let mut net = ElementWiseRecurrentContainer::new(IFNode::new(), |y, x| y + x).unwrap();
        let s: Vec<f32> = (0..8)
            .flat_map(|t| values(&net.forward(&x.get(t)).unwrap()))
            .collect();
        assert_eq!(s, [1.0; 8]);
        assert_eq!(net.memories()[0].1.as_ref().unwrap().size(), [1]);
        reset_net(&mut net);
        assert!(net.memories()[0].1.is_none());
        // the same in step mode 'm'; the IF node inside stays 's'
        set_step_mode(&mut net, StepMode::M).unwrap();
        assert_eq!(net.children()[0].1.step_mode(), StepMode::S);
        assert_eq!(values(&net.forward(&x).unwrap()), [1.0; 8]);
        assert_eq!(net.extra_repr(), "element-wise function=<fn>, step_mode=m");
    }

    #[test]
    fn element_wise_function_is_called_with_y_prev_first() {
        // f(y, x) = x − y with x = 1.5: i = 1.5 (fire), 0.5 (no), 1.5 + 0.5 → fire
        let mut net = ElementWiseRecurrentContainer::new(IFNode::new(), sub)
            .unwrap()
            .with_step_mode(StepMode::M);
        let y = net
            .forward(&Tensor::full([3, 1], 1.5, (Kind::Float, Device::Cpu)))
            .unwrap();
        assert_eq!(values(&y), [1.0, 0.0, 1.0]);
        let err = net
            .forward(&Tensor::full([3, 2], 1.5, (Kind::Float, Device::Cpu)))
            .unwrap_err()
            .to_string();
        assert!(err.contains("reset_net"), "{err}");
    }

    /// rc = [[1, 0, 1], [0, 1, 0]] (i = [x0 + y, x1]), sub_module = Linear(2 → 1, weight [0.5, 0.5]) → IF.
    fn hand_made(vs: &nn::VarStore) -> LinearRecurrentContainer {
        let p = vs.root();
        let sub = Sequential::new()
            .add(Linear::new(&(&p / "sub_module" / "0"), 2, 1, false).unwrap())
            .add(IFNode::new());
        let net = LinearRecurrentContainer::new(&p, sub, 2, 1, true).unwrap();
        tch::no_grad(|| {
            net.rc()
                .weight()
                .shallow_clone()
                .copy_(&Tensor::from_slice(&[1.0f32, 0.0, 1.0, 0.0, 1.0, 0.0]).view([2, 3]));
            let _ = net.rc().bias().unwrap().shallow_clone().zero_();
            let w = &state_dict(&net)
                .into_iter()
                .find(|(k, _)| k == "sub_module.0.weight")
                .unwrap()
                .1;
            w.shallow_clone()
                .copy_(&Tensor::from_slice(&[0.5f32, 0.5]).view([1, 2]));
        });
        net
    }

    #[test]
    fn linear_recurrence_hand_computed() {
        let vs = nn::VarStore::new(Device::Cpu);
        let mut net = hand_made(&vs);
        let names: Vec<String> = state_dict(&net).into_iter().map(|(k, _)| k).collect();
        assert_eq!(names, ["rc.weight", "rc.bias", "sub_module.0.weight"]);
        // IF input 0.5·(x0 + y_prev) + 0.5·x1:
        // t0 (1,0): 0.5 → v 0.5; t1 (0.5,0.5): 0.5 → v 1 fires; t2 (0,0): y feeds back 0.5 → v 0.5;
        // t3 (0,0): 0 → v 0.5; t4 (0,1): 0.5 → v 1 fires; t5 (0,0): feedback 0.5 → v 0.5
        let x = Tensor::from_slice(&[
            1.0f32, 0.0, 0.5, 0.5, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0,
        ])
        .view([6, 1, 2]);
        let y_s: Vec<f32> = (0..6)
            .flat_map(|t| values(&net.forward(&x.get(t)).unwrap()))
            .collect();
        assert_eq!(y_s, [0.0, 1.0, 0.0, 0.0, 1.0, 0.0]);
        let mems: Vec<String> = named_memories(&net).into_iter().map(|(k, _)| k).collect();
        assert_eq!(mems, ["y", "sub_module.1.v"]);
        reset_net(&mut net);
        set_step_mode(&mut net, StepMode::M).unwrap();
        assert_eq!(values(&net.forward(&x).unwrap()), y_s);
        assert_eq!(net.children()[1].1.children()[1].1.step_mode(), StepMode::S);
    }

    #[test]
    fn linear_recurrence_shapes_and_errors() {
        let vs = nn::VarStore::new(Device::Cpu);
        let mut net = hand_made(&vs).with_step_mode(StepMode::M);
        let y = net
            .forward(&Tensor::ones([4, 2, 3, 2], (Kind::Float, Device::Cpu)))
            .unwrap();
        assert_eq!(y.size(), [4, 2, 3, 1]);
        assert_eq!(net.memories()[0].1.as_ref().unwrap().size(), [2, 3, 1]);
        reset_net(&mut net);
        let err = net
            .forward(&Tensor::ones([4, 2, 3], (Kind::Float, Device::Cpu)))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("LinearRecurrentContainer") && err.contains("[T, N, *, 2]"),
            "{err}"
        );
        let vs = nn::VarStore::new(Device::Cpu);
        let mut wrong =
            LinearRecurrentContainer::new(&vs.root(), IFNode::new(), 2, 3, true).unwrap();
        let err = wrong
            .forward(&Tensor::ones([1, 2], (Kind::Float, Device::Cpu)))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("LinearRecurrentContainer") && err.contains("out_features"),
            "{err}"
        );
        let err = ElementWiseRecurrentContainer::new(
            IFNode::new().with_step_mode(StepMode::M),
            |y, x| y + x,
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("ElementWiseRecurrentContainer") && err.contains("IFNode"),
            "{err}"
        );
    }
}
