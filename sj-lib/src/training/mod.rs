//! Training: the train/test epoch loop of SpikingJelly's examples, optimizers whose state is
//! saved in checkpoints, learning-rate schedules, and the per-epoch log as a polars `DataFrame`.
//!
//! ```no_run
//! use sj::prelude::*;
//! use sj::datasets::{DataLoader, FashionMNIST, ToTensor};
//! use sj::training::{Adam, Trainer};
//! # fn main() -> sj::Result<()> {
//! let root = FashionMNIST::default_root();
//! let train = DataLoader::new(FashionMNIST::new(&root, true)?, 64)?.with_shuffle(0).with_transform(ToTensor);
//! let test = DataLoader::new(FashionMNIST::new(&root, false)?, 256)?.with_transform(ToTensor);
//! let vs = nn::VarStore::new(Device::Cpu);
//! let mut net = Sequential::new().add(Flatten::new()).add(Linear::new(&(vs.root() / "1"), 784, 10, false)?).add(IFNode::new());
//! let mut adam = Adam::new(&vs, 1e-3)?;
//! let log = Trainer::new(2).fit(&mut net, &vs, &mut adam, &train, &test, |net, x| net.forward(x))?;
//! println!("{}", log.to_dataframe()?);
//! # Ok(()) }
//! ```
mod checkpoint;
mod log;
mod optim;
mod regularize;
mod schedule;
mod tensorboard;
mod trainer;

pub use checkpoint::Checkpoint;
pub use log::{EpochRecord, TrainLog};
pub use optim::{Adam, Optimizer, RMSprop, SGD};
pub use regularize::{clip_grad_norm, GradScaler, Mix, ModelEma};
pub use schedule::{LrSchedule, Warmup, WarmupMethod};
pub use tensorboard::{read_scalars, SummaryWriter};
pub use trainer::{EpochMetrics, Loss, Trainer};

/// A value read back from a file that counts something (epochs, steps): an integer in `0..2^53`
/// (exact in float64); `None` for anything else (a corrupt file).
pub(crate) fn as_count(v: f64) -> Option<i64> {
    ((0.0..9_007_199_254_740_992.0).contains(&v) && v.fract() == 0.0).then_some(v as i64)
}

/// [`as_count`] of a one-element tensor of any dtype; `None` for any other tensor.
pub(crate) fn count(t: &tch::Tensor) -> Option<i64> {
    let v = (t.numel() == 1)
        .then(|| t.f_flatten(0, -1).and_then(|t| t.f_double_value(&[0])).ok())
        .flatten()?;
    as_count(v)
}

/// `n` values in [-1, 1] from SplitMix64(`seed`): test data that does not touch libtorch's
/// global RNG, which tests running in parallel threads share.
#[cfg(test)]
pub(crate) fn test_values(seed: u64, n: usize) -> tch::Tensor {
    let mut rng = sj_datasets::shuffle::SplitMix64::new(seed);
    let v: Vec<f32> = (0..n)
        .map(|_| (rng.below(2001) as f32 - 1000.0) / 1000.0)
        .collect();
    tch::Tensor::from_slice(&v)
}
