//! `activation_based.base`: step modes, backends, the module trait, stateful memories and the
//! forward hooks containers run their children through (inventory §1.3-1.7, §2.1).
//!
//! `base` is the core: it names no feature module (layers, neurons, monitors); those build on it.
mod hooks;
pub mod stateful;

pub(crate) use hooks::lock;
pub use hooks::{HookHandle, Hooks, PostHook, PreHook};
pub use stateful::MemoryVar;

use crate::error::{Result, SjError};
use std::fmt;
use std::str::FromStr;
use tch::Tensor;

/// SpikingJelly's `step_mode`: `'s'` takes `[N, *]` per call, `'m'` takes a whole sequence `[T, N, *]`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum StepMode {
    /// Single step (`'s'`), the default.
    #[default]
    S,
    /// Multi step (`'m'`).
    M,
}

impl fmt::Display for StepMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            StepMode::S => "s",
            StepMode::M => "m",
        })
    }
}

impl FromStr for StepMode {
    type Err = SjError;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "s" => Ok(StepMode::S),
            "m" => Ok(StepMode::M),
            other => Err(SjError::StepMode {
                module: "StepMode".into(),
                expected: "'s' or 'm'".into(),
                got: other.into(),
            }),
        }
    }
}

/// Both step modes, the default for [`Module::supported_step_modes`].
pub const BOTH_STEP_MODES: &[StepMode] = &[StepMode::S, StepMode::M];

/// Where a module's computation runs (§1.7).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Backend {
    /// The default: the fastest backend available for the input (a fused kernel for float32
    /// input on a neuron that has one, in both step modes (a single step is the kernel with
    /// T = 1: one autograd node), else `torch`).
    #[default]
    Auto,
    /// Op-by-op tch tensor code (autograd through every op).
    Torch,
    /// Fused whole-sequence CPU kernel.
    Fused,
    /// Fused whole-sequence CUDA kernel (SpikingJelly's `cupy`).
    Cuda,
}

impl fmt::Display for Backend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Backend::Auto => "auto",
            Backend::Torch => "torch",
            Backend::Fused => "fused",
            Backend::Cuda => "cuda",
        })
    }
}

impl FromStr for Backend {
    type Err = SjError;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "auto" => Ok(Backend::Auto),
            "torch" => Ok(Backend::Torch),
            "fused" => Ok(Backend::Fused),
            "cuda" | "cupy" => Ok(Backend::Cuda),
            other => Err(SjError::Backend {
                module: "Backend".into(),
                expected: "'auto', 'torch', 'fused' or 'cuda'".into(),
                got: other.into(),
            }),
        }
    }
}

fn list<T: fmt::Display>(items: &[T]) -> String {
    items
        .iter()
        .map(|i| format!("'{i}'"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// A stateful variable (`register_memory`): a float until the first input, then a tensor.
#[derive(Debug)]
pub enum Memory {
    /// The reset value, not yet broadcast to the input's shape (`print(if_layer.v)` shows `0.0`).
    Float(f64),
    /// The current state.
    Tensor(Tensor),
}

impl Memory {
    /// The state as a tensor shaped like `like`: a float becomes `full_like(like, value)`
    /// (`v_float_to_tensor`). A tensor of another shape, dtype or device, or one whose fused-kernel
    /// graph a finished backward has consumed, is an error naming `module`: a new batch was fed
    /// without `reset_net`.
    pub fn to_tensor_like(&mut self, module: &str, like: &Tensor) -> Result<Tensor> {
        match self {
            Memory::Float(value) => {
                let t = like.full_like(*value).detach();
                *self = Memory::Tensor(t.shallow_clone());
                Ok(t)
            }
            Memory::Tensor(t) => {
                if sj_kernels::graph_consumed(t) {
                    return Err(SjError::StaleGraph {
                        module: module.into(),
                    });
                }
                if t.size() != like.size() {
                    return Err(SjError::StaleState {
                        module: module.into(),
                        state: t.size(),
                        input: like.size(),
                    });
                }
                if t.device() != like.device() || t.kind() != like.kind() {
                    return Err(SjError::Input {
                        module: module.into(),
                        expected: format!(
                            "input on {:?} as {:?} like its state",
                            t.device(),
                            t.kind()
                        ),
                        got: format!(
                            "{:?} {:?}; call reset_net after moving or casting",
                            like.device(),
                            like.kind()
                        ),
                    });
                }
                // The step that reads the state marks it, so that a forgotten reset_net is found
                // at the next batch however the state was computed.
                sj_kernels::mark_state(t).map_err(|e| SjError::kernel(module, e))
            }
        }
    }

    /// The tensor, if the memory has one.
    pub fn tensor(&self) -> Option<&Tensor> {
        match self {
            Memory::Float(_) => None,
            Memory::Tensor(t) => Some(t),
        }
    }

    /// Detaches the tensor from the autograd graph in place (truncated BPTT).
    pub fn detach(&mut self) {
        if let Memory::Tensor(t) = self {
            *t = t.detach();
        }
    }
}

/// A named parameter or buffer of a module, as it appears in a SpikingJelly `state_dict`.
pub type NamedTensor = (String, Tensor);

/// Every sj layer, neuron and container. Stateful modules keep their state inside, like
/// SpikingJelly's `MemoryModule`; call [`crate::functional::reset_net`] between batches.
pub trait Module: fmt::Debug + Send {
    /// The SpikingJelly class name, e.g. `"LIFNode"`.
    fn type_name(&self) -> &'static str;
    /// Runs one call: `[N, *]` in step mode `s`, `[T, N, *]` in step mode `m`.
    fn forward(&mut self, x: &Tensor) -> Result<Tensor>;
    /// The current step mode.
    fn step_mode(&self) -> StepMode;
    /// Where the step mode is stored; [`Module::set_step_mode`] validates before writing it.
    fn step_mode_slot(&mut self) -> &mut StepMode;
    /// The step modes this module accepts (`supported_step_mode()`).
    fn supported_step_modes(&self) -> &'static [StepMode] {
        BOTH_STEP_MODES
    }
    /// Sets the step mode, or errors (naming the module) if unsupported.
    fn set_step_mode(&mut self, mode: StepMode) -> Result<()> {
        let supported = self.supported_step_modes();
        if !supported.contains(&mode) {
            return Err(SjError::StepMode {
                module: self.type_name().into(),
                expected: list(supported),
                got: mode.to_string(),
            });
        }
        *self.step_mode_slot() = mode;
        Ok(())
    }
    /// Whether `set_step_mode` over a tree should reach this module's children (false for
    /// `StepModeContainer` and the recurrent containers, whose children stay `'s'`).
    fn propagates_step_mode(&self) -> bool {
        true
    }
    /// The backends this module supports in its current step mode.
    fn supported_backends(&self) -> Vec<Backend> {
        vec![Backend::Torch]
    }
    /// The backend in use.
    fn backend(&self) -> Backend {
        Backend::Torch
    }
    /// Sets the backend, or errors naming the module and what it supports.
    fn set_backend(&mut self, backend: Backend) -> Result<()> {
        let supported = self.supported_backends();
        if supported.contains(&backend) {
            Ok(())
        } else {
            Err(SjError::Backend {
                module: self.type_name().into(),
                expected: list(&supported),
                got: backend.to_string(),
            })
        }
    }
    /// True for modules with memories (`MemoryModule`). Stateful layers and encoders get this,
    /// `reset`, `detach`, `memories` and the step-mode methods from
    /// [`memory_module!`](crate::memory_module); neurons from their blanket impl.
    fn is_stateful(&self) -> bool {
        false
    }
    /// Sets every memory back to its reset value.
    fn reset(&mut self) {}
    /// Detaches every tensor memory (truncated BPTT).
    fn detach(&mut self) {}
    /// The module's own memories by name, for monitors and tests.
    fn memories(&self) -> Vec<(String, Option<Tensor>)> {
        Vec::new()
    }
    /// Switches training behaviour (dropout, batch norm) on or off.
    fn set_training(&mut self, _training: bool) {}
    /// This module's own parameters and buffers by SpikingJelly name (without the child prefix).
    fn named_tensors(&self) -> Vec<NamedTensor> {
        Vec::new()
    }
    /// Direct children with their names (`"0"`, `"1"`, ... in a `Sequential`).
    fn children(&self) -> Vec<(String, &dyn Module)> {
        Vec::new()
    }
    /// Direct children, mutably.
    fn children_mut(&mut self) -> Vec<(String, &mut dyn Module)> {
        Vec::new()
    }
    /// Direct children as the boxes that hold them, so that a network can be rewritten in place
    /// ([`crate::ann2snn`] puts IF neurons where the `ReLU`s were); empty for leaves and for
    /// modules whose children cannot be replaced.
    fn child_slots_mut(&mut self) -> Vec<(String, &mut Box<dyn Module>)> {
        Vec::new()
    }
    /// The forward hooks this module runs around its children's forwards (containers), where
    /// monitors register; `None` for modules that do not run their children through hooks.
    fn hooks(&self) -> Option<&Hooks> {
        None
    }
    /// The arguments shown in the module's repr, e.g. `v_threshold=1.0, v_reset=0.0, ...`.
    fn extra_repr(&self) -> String {
        format!("step_mode={}", self.step_mode())
    }
    /// The module as [`Any`](std::any::Any), for code that needs its concrete type (the learning
    /// rules read a `Linear`'s or a convolution's weight and geometry through it); `None` for
    /// modules that do not offer it.
    fn as_any(&self) -> Option<&dyn std::any::Any> {
        None
    }
}

/// Checks that `x` has `dims` dimensions (or at least `min` when `dims` is `None`) for `module`.
pub fn check_dims(module: &str, x: &Tensor, min: usize, expected: &str) -> Result<()> {
    if x.dim() < min {
        return Err(SjError::Shape {
            module: module.into(),
            expected: expected.into(),
            got: x.size(),
        });
    }
    Ok(())
}

/// Checks that `x` is a floating-point tensor.
pub fn check_float(module: &str, x: &Tensor) -> Result<()> {
    if x.is_floating_point() {
        Ok(())
    } else {
        Err(SjError::Input {
            module: module.into(),
            expected: "a floating-point tensor".into(),
            got: format!("{:?}", x.kind()),
        })
    }
}

/// Checks that `x` has the dtype and device of the module's parameter `like` (a float64 input to
/// float32 weights is PyTorch's "expected scalar type Double but found Float").
pub fn check_like(module: &str, x: &Tensor, like: &Tensor) -> Result<()> {
    if x.kind() == like.kind() && x.device() == like.device() {
        return Ok(());
    }
    Err(SjError::Input {
        module: module.into(),
        expected: format!(
            "{:?} on {:?} like its parameters",
            like.kind(),
            like.device()
        ),
        got: format!(
            "{:?} on {:?}; convert with x.to_kind({:?}).to_device({:?})",
            x.kind(),
            x.device(),
            like.kind(),
            like.device()
        ),
    })
}

/// Refuses a second variable at the same VarStore name: tch would silently store it as
/// `weight__3` while the module and `state_dict` report `weight`.
pub(crate) fn check_free_name(module: &str, path: &tch::nn::Path, name: &str) -> Result<()> {
    if path.get(name).is_none() {
        return Ok(());
    }
    let full = [path.components().collect::<Vec<_>>(), vec![name]].concat();
    Err(SjError::config(
        module,
        format!(
            "the VarStore already holds '{}': two layers were built at the same path; give each \
             its own, e.g. &vs.root() / \"1\", or build into a new VarStore",
            full.join(".")
        ),
    ))
}

/// Creates the trainable parameter `name` `dims` under `path` for `module`, refusing negative
/// sizes and a name that is already taken.
pub fn variable(
    module: &str,
    path: &tch::nn::Path,
    name: &str,
    dims: &[i64],
    init: tch::nn::Init,
) -> Result<Tensor> {
    if let Some(d) = dims.iter().find(|&&d| d < 0) {
        return Err(SjError::config(
            module,
            format!("'{name}' would have a negative size {d} (shape {dims:?}); sizes must be >= 0"),
        ));
    }
    check_free_name(module, path, name)?;
    path.f_var(name, dims, init).map_err(|e| {
        let e = e.to_string();
        SjError::config(
            module,
            format!(
                "cannot create '{name}' of shape {dims:?}: {}",
                e.lines().next().unwrap_or_default()
            ),
        )
    })
}

/// Registers the non-trainable buffer `name` (`running_mean`, ...) under `path` for `module`,
/// refusing a name that is already taken.
pub fn buffer(module: &str, path: &tch::nn::Path, name: &str, tensor: Tensor) -> Result<Tensor> {
    check_free_name(module, path, name)?;
    Ok(path.add(name, tensor, false))
}

/// Renders a module tree like PyTorch's `print(net)`.
pub fn repr(module: &dyn Module) -> String {
    fn go(m: &dyn Module, indent: usize, out: &mut String) {
        out.push_str(m.type_name());
        out.push('(');
        let children = m.children();
        if children.is_empty() {
            out.push_str(&m.extra_repr());
            out.push(')');
            return;
        }
        let extra = m.extra_repr();
        if !extra.is_empty() {
            out.push('\n');
            out.push_str(&" ".repeat(indent + 2));
            out.push_str(&extra);
        }
        for (name, child) in children {
            out.push('\n');
            out.push_str(&" ".repeat(indent + 2));
            out.push_str(&format!("({name}): "));
            go(child, indent + 2, out);
        }
        out.push('\n');
        out.push_str(&" ".repeat(indent));
        out.push(')');
    }
    let mut out = String::new();
    go(module, 0, &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn step_mode_parses_and_rejects() {
        assert_eq!("s".parse::<StepMode>().unwrap(), StepMode::S);
        assert_eq!("m".parse::<StepMode>().unwrap(), StepMode::M);
        let err = "x".parse::<StepMode>().unwrap_err().to_string();
        assert!(err.contains("'x'") && err.contains("'s' or 'm'"), "{err}");
        assert_eq!("cupy".parse::<Backend>().unwrap(), Backend::Cuda);
        assert!("lava".parse::<Backend>().is_err());
    }

    #[test]
    fn memory_broadcasts_then_detects_a_stale_batch() {
        let mut m = Memory::Float(0.5);
        let x = Tensor::zeros([2, 3], (tch::Kind::Float, tch::Device::Cpu));
        let v = m.to_tensor_like("IFNode", &x).unwrap();
        assert_eq!(v.size(), vec![2, 3]);
        assert_eq!(v.double_value(&[1, 2]), 0.5);
        let y = Tensor::zeros([4, 3], (tch::Kind::Float, tch::Device::Cpu));
        let err = m.to_tensor_like("IFNode", &y).unwrap_err().to_string();
        assert!(
            err.contains("IFNode") && err.contains("reset_net") && err.contains("[4, 3]"),
            "{err}"
        );
    }
}
