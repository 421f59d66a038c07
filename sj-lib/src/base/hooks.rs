//! Forward hooks: what PyTorch's `register_forward_pre_hook` / `register_forward_hook` do, for
//! sj's containers.
//!
//! A container keeps one [`Hooks`] and runs each child through [`Hooks::call`], which runs the
//! hooks registered for that child before and after its forward. Monitors register their hooks
//! here. A module of your own that holds children can take part the same way: keep a `Hooks`
//! field, return it from [`Module::hooks`], and call `self.hooks.call("sn1", &mut self.sn1, &x)`
//! instead of `self.sn1.forward(&x)`.
use super::Module;
use crate::error::{torch_guard, Result};
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use tch::Tensor;

/// A hook run before a child's forward with `(child, input)`; `Some(x)` replaces the input.
pub type PreHook = dyn Fn(&dyn Module, &Tensor) -> Result<Option<Tensor>> + Send + Sync;
/// A hook run after a child's forward with `(child, input, output)`; `Some(y)` replaces the output.
pub type PostHook = dyn Fn(&dyn Module, &Tensor, &Tensor) -> Result<Option<Tensor>> + Send + Sync;

#[derive(Clone)]
enum Hook {
    Pre(Arc<PreHook>),
    Post(Arc<PostHook>),
}

struct Entry {
    id: u64,
    child: String,
    hook: Hook,
}

type Entries = Mutex<Vec<Entry>>;

/// Locks a mutex, recovering the data if a thread panicked while holding it.
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// The forward hooks of one container, keyed by child name. Shared with the [`HookHandle`]s.
#[derive(Default)]
pub struct Hooks(Arc<Entries>);

/// Removes its hook with [`HookHandle::remove`]; dropping the handle keeps the hook.
#[derive(Debug)]
pub struct HookHandle {
    entries: Weak<Entries>,
    id: u64,
}

impl HookHandle {
    /// Removes the hook (a no-op if it is gone already or its container was dropped).
    pub fn remove(&self) {
        if let Some(entries) = self.entries.upgrade() {
            lock(&entries).retain(|e| e.id != self.id);
        }
    }
}

impl Hooks {
    /// No hooks.
    pub fn new() -> Self {
        Self::default()
    }

    fn register(&self, child: &str, hook: Hook) -> HookHandle {
        static NEXT_ID: AtomicU64 = AtomicU64::new(0);
        let id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
        lock(&self.0).push(Entry {
            id,
            child: child.to_string(),
            hook,
        });
        HookHandle {
            entries: Arc::downgrade(&self.0),
            id,
        }
    }

    /// Registers `hook` to run before the forward of the child named `child`.
    pub fn register_pre(
        &self,
        child: &str,
        hook: impl Fn(&dyn Module, &Tensor) -> Result<Option<Tensor>> + Send + Sync + 'static,
    ) -> HookHandle {
        self.register(child, Hook::Pre(Arc::new(hook)))
    }

    /// Registers `hook` to run after the forward of the child named `child`.
    pub fn register_post(
        &self,
        child: &str,
        hook: impl Fn(&dyn Module, &Tensor, &Tensor) -> Result<Option<Tensor>> + Send + Sync + 'static,
    ) -> HookHandle {
        self.register(child, Hook::Post(Arc::new(hook)))
    }

    /// Number of registered hooks.
    pub fn len(&self) -> usize {
        lock(&self.0).len()
    }

    /// True when no hook is registered.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Runs `child` (named `name`) on `x` with its hooks: pre-hooks in registration order, the
    /// forward, then post-hooks in registration order.
    pub fn call(&self, name: &str, child: &mut dyn Module, x: &Tensor) -> Result<Tensor> {
        // Clone the matching hooks out so that a hook may register or remove hooks.
        let hooks: Vec<Hook> = lock(&self.0)
            .iter()
            .filter(|e| e.child == name)
            .map(|e| e.hook.clone())
            .collect();
        let name_of_child = child.type_name();
        if hooks.is_empty() {
            return torch_guard(name_of_child, || child.forward(x));
        }
        let mut x = x.shallow_clone();
        for hook in &hooks {
            if let Hook::Pre(f) = hook {
                if let Some(new_x) = f(&*child, &x)? {
                    x = new_x;
                }
            }
        }
        let mut y = torch_guard(name_of_child, || child.forward(&x))?;
        for hook in &hooks {
            if let Hook::Post(f) = hook {
                if let Some(new_y) = f(&*child, &x, &y)? {
                    y = new_y;
                }
            }
        }
        Ok(y)
    }
}

impl fmt::Debug for Hooks {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Hooks({})", self.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layer::Sequential;
    use crate::neuron::IFNode;
    use tch::{Device, Kind};

    #[test]
    fn hooks_run_in_order_replace_values_and_are_removed() {
        let hooks = Hooks::new();
        let mut node = IFNode::new();
        let x = Tensor::from_slice(&[0.5f32, 1.5]);
        // pre: doubles the input (1.0 fires, 3.0 fires); post: records and negates the output
        let seen = Arc::new(Mutex::new(Vec::new()));
        let pre = hooks.register_pre("sn", |_, x| Ok(Some(x * 2.0)));
        let log = seen.clone();
        let post = hooks.register_post("sn", move |m, x, y| {
            lock(&log).push((
                m.type_name(),
                Vec::<f32>::try_from(x).unwrap(),
                Vec::<f32>::try_from(y).unwrap(),
            ));
            Ok(Some(-y))
        });
        let _other = hooks.register_pre("other", |_, _| {
            Ok(Some(Tensor::zeros([1], (Kind::Float, Device::Cpu))))
        });
        assert_eq!(hooks.len(), 3);
        let y = hooks.call("sn", &mut node, &x).unwrap();
        assert_eq!(Vec::<f32>::try_from(&y).unwrap(), [-1.0, -1.0]);
        assert_eq!(lock(&seen)[0], ("IFNode", vec![1.0, 3.0], vec![1.0, 1.0]));
        pre.remove();
        post.remove();
        pre.remove();
        assert_eq!(hooks.len(), 1);
        crate::functional::reset_net(&mut node);
        let y = hooks.call("sn", &mut node, &x).unwrap();
        assert_eq!(Vec::<f32>::try_from(&y).unwrap(), [0.0, 1.0]);
        assert_eq!(lock(&seen).len(), 1);
    }

    #[test]
    fn a_failing_hook_fails_the_forward_and_a_dropped_container_frees_its_hooks() {
        let net = Sequential::new().add(IFNode::new());
        let handle = net
            .hooks()
            .unwrap()
            .register_post("0", |_, _, _| Err(crate::SjError::config("hook", "boom")));
        let mut net = net;
        let err = net
            .forward(&Tensor::ones([2], (Kind::Float, Device::Cpu)))
            .unwrap_err()
            .to_string();
        assert_eq!(err, "hook: boom");
        drop(net);
        handle.remove();
        assert!(handle.entries.upgrade().is_none());
    }
}
