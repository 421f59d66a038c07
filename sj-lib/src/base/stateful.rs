//! Stateful modules (SpikingJelly's `MemoryModule`): one mechanism for the `Module` methods every
//! stateful layer and encoder shares.
//!
//! A stateful module registers its memories, each with a reset value, like SpikingJelly's
//! `register_memory(name, value)`. From that list [`memory_module!`](crate::memory_module)
//! writes the six [`Module`](super::Module) methods that only depend on it: `step_mode`,
//! `step_mode_slot`, `is_stateful`, `reset` (every memory back to its reset value), `detach`
//! (every tensor memory detached) and `memories` (each memory's current value, for monitors).
//! What one kind of memory does on `detach` and what it shows is its [`MemoryVar`] impl, written
//! once per kind (a [`Memory`], an `Option<Tensor>`, a queue of tensors, a step counter).
//! The module writes only its own parts: `type_name`, `forward`, `extra_repr`, parameters.
//!
//! Why a macro used inside `impl Module` rather than a trait with a blanket impl: neurons already
//! are modules through `impl<N: Neuron> Module for N`, and Rust's coherence rules allow no second
//! blanket impl of `Module` (`impl<S: Stateful> Module for S` would overlap it for a type that
//! implements both). A wrapper type (`Stateful<L>`) would change every public type name. The
//! macro keeps each module's own `impl Module` block and types, and adds nothing at run time.
//!
//! ```
//! use sj::base::{Memory, Module, StepMode};
//! use sj::tch::Tensor;
//!
//! /// Sums its inputs over time.
//! #[derive(Debug)]
//! struct Accumulator {
//!     total: Memory,
//!     step_mode: StepMode,
//! }
//!
//! impl Module for Accumulator {
//!     fn type_name(&self) -> &'static str {
//!         "Accumulator"
//!     }
//!     fn forward(&mut self, x: &Tensor) -> sj::Result<Tensor> {
//!         let total = self.total.to_tensor_like("Accumulator", x)? + x;
//!         self.total = Memory::Tensor(total.shallow_clone());
//!         Ok(total)
//!     }
//!     sj::memory_module! {
//!         step_mode: step_mode,
//!         memories: { "total": total = Memory::Float(0.0) },
//!     }
//! }
//!
//! let mut acc = Accumulator { total: Memory::Float(0.0), step_mode: StepMode::S };
//! acc.forward(&Tensor::from_slice(&[1.0f32, 2.0])).unwrap();
//! let y = acc.forward(&Tensor::from_slice(&[1.0f32, 2.0])).unwrap();
//! assert_eq!(Vec::<f32>::try_from(&y).unwrap(), [2.0, 4.0]);
//! assert!(acc.is_stateful());
//! sj::functional::reset_net(&mut acc);
//! assert!(acc.memories()[0].1.is_none());
//! ```
use super::Memory;
use std::collections::VecDeque;
use tch::Tensor;

/// One kind of memory of a stateful module: what `detach_net` does to it and what monitors see.
/// Resetting is the module's (its reset value, given to [`memory_module!`](crate::memory_module)).
pub trait MemoryVar {
    /// Detaches every tensor it holds from the autograd graph (truncated BPTT).
    fn detach(&mut self);
    /// Its current value as a tensor, `None` while it holds none (before the first step, after a
    /// reset).
    fn value(&self) -> Option<Tensor>;
}

impl MemoryVar for Memory {
    fn detach(&mut self) {
        Memory::detach(self);
    }
    fn value(&self) -> Option<Tensor> {
        self.tensor().map(Tensor::shallow_clone)
    }
}

/// A tensor drawn or computed on the first step (a dropout mask, an encoded spike train).
impl MemoryVar for Option<Tensor> {
    fn detach(&mut self) {
        if let Some(t) = self.as_mut() {
            *t = t.detach();
        }
    }
    fn value(&self) -> Option<Tensor> {
        self.as_ref().map(Tensor::shallow_clone)
    }
}

/// A queue of past inputs, shown stacked along a new first dimension (oldest first).
impl MemoryVar for VecDeque<Tensor> {
    fn detach(&mut self) {
        for t in self.iter_mut() {
            *t = t.detach();
        }
    }
    fn value(&self) -> Option<Tensor> {
        (!self.is_empty()).then(|| Tensor::stack(&self.iter().collect::<Vec<_>>(), 0))
    }
}

/// A step counter, shown as a scalar int64 tensor.
impl MemoryVar for i64 {
    fn detach(&mut self) {}
    fn value(&self) -> Option<Tensor> {
        Some(Tensor::from(*self))
    }
}

/// True when every condition holds (none: true); the `if |m| ...` of [`memory_module!`](crate::memory_module).
#[doc(hidden)]
pub fn all(conditions: &[bool]) -> bool {
    conditions.iter().all(|&c| c)
}

/// Writes the [`Module`](crate::base::Module) methods of a stateful module from its step-mode
/// field and its memories: `step_mode`, `step_mode_slot`, `is_stateful` (true), `reset`,
/// `detach` and `memories`. Use it inside the module's `impl Module` block (see
/// [`base::stateful`](crate::base::stateful) for the why and an example):
///
/// ```text
/// sj::memory_module! {
///     step_mode: step_mode,                        // the StepMode field (a path: state.step_mode)
///     memories: {
///         "out_i": out_i = Memory::Float(0.0);     // name: field = reset value
///         "dropped_b": dropped_b = None, if |m| m.bias.is_some();  // listed only when ...
///     },
///     after_reset: reset_activation,               // optional: a `fn(&mut self)` run after reset
/// }
/// ```
/// Each field's type implements [`MemoryVar`](crate::base::MemoryVar).
#[macro_export]
macro_rules! memory_module {
    (
        step_mode: $($mode:ident).+,
        memories: {
            $($name:literal: $($field:ident).+ = $reset:expr $(, if |$m:ident| $listed:expr)?);+ $(;)?
        }
        $(, after_reset: $after:ident)?
        $(,)?
    ) => {
        fn step_mode(&self) -> $crate::base::StepMode {
            self.$($mode).+
        }
        fn step_mode_slot(&mut self) -> &mut $crate::base::StepMode {
            &mut self.$($mode).+
        }
        fn is_stateful(&self) -> bool {
            true
        }
        fn reset(&mut self) {
            $(self.$($field).+ = $reset;)+
            $(self.$after();)?
        }
        fn detach(&mut self) {
            $($crate::base::MemoryVar::detach(&mut self.$($field).+);)+
        }
        fn memories(&self) -> ::std::vec::Vec<(::std::string::String, ::std::option::Option<$crate::tch::Tensor>)> {
            let mut memories = ::std::vec::Vec::new();
            $(
                if $crate::base::stateful::all(&[$({
                    let $m = &*self;
                    $listed
                })?]) {
                    memories.push((
                        ::std::string::String::from($name),
                        $crate::base::MemoryVar::value(&self.$($field).+),
                    ));
                }
            )+
            memories
        }
    };
}
