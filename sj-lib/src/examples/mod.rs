//! `activation_based.examples`: the networks and training scripts of SpikingJelly's tutorials,
//! with their command-line flags. The cargo examples `lif_fc_mnist` and `conv_fashion_mnist` run
//! them: `cargo run --release -p sj --example conv_fashion_mnist -- -T 4 -b 128 -epochs 8`.
pub mod classify_dvsg;
pub mod conv_fashion_mnist;
pub mod lif_fc_mnist;

use crate::base::{repr, Backend, Module};
use crate::error::{Result, SjError};
use crate::functional::set_backend;
use crate::record::save_json;
use crate::training::{Adam, LrSchedule, Optimizer, TrainLog, Trainer, SGD};
use sj_datasets::{DataLoader, ImageDataset, ToTensor};
use std::path::PathBuf;
use tch::{nn, Device, Tensor};

/// The flags of SpikingJelly's example scripts (`-T`, `-b`, `-epochs`, ...) plus sj's `-seed`,
/// `-train-samples` (train on the first n samples) and `-max-batches` (per epoch).
///
/// `Serialize + Deserialize`: examples write them to `args.json` in their run folder (the
/// `args.txt` of SpikingJelly's scripts); field names are the flags' (`T`, `b`, `epochs`, ...).
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Args {
    /// `-T`: time steps.
    #[serde(rename = "T")]
    pub t: i64,
    /// `-device`: `cpu` or `cuda:<i>`.
    #[serde(with = "crate::record::device")]
    pub device: Device,
    /// `-b`: batch size.
    pub b: usize,
    /// `-epochs`.
    pub epochs: usize,
    /// `-j`: batches prepared ahead by the loader.
    pub j: usize,
    /// `-data-dir`.
    pub data_dir: PathBuf,
    /// `-out-dir`: where checkpoints go (none when absent).
    pub out_dir: Option<PathBuf>,
    /// `-resume`: continue from `checkpoint_latest` in the run's directory.
    pub resume: bool,
    /// `-opt`: `sgd` (with `-momentum`) or `adam`.
    pub opt: String,
    /// `-momentum` for SGD.
    pub momentum: f64,
    /// `-lr`.
    pub lr: f64,
    /// `-tau` (lif_fc_mnist).
    pub tau: f64,
    /// `-channels` (conv_fashion_mnist).
    pub channels: i64,
    /// `-channels2`: filters of the second conv block (conv_fashion_mnist; default `-channels`).
    pub channels2: Option<i64>,
    /// `-hidden`: neurons of the hidden fully connected layer (conv_fashion_mnist; default
    /// 16 × the second block's filters).
    pub hidden: Option<i64>,
    /// `-cosine`: CosineAnnealingLR over the epochs (SpikingJelly's conv example uses it).
    pub cosine: bool,
    /// `-backend auto|torch|fused|cuda` of the neurons (`-cupy` is `-backend cuda`).
    pub backend: Backend,
    /// `-seed`.
    pub seed: u64,
    /// `-train-samples`: train on the first n training samples only.
    pub train_samples: Option<usize>,
    /// `-max-batches`: at most n training batches per epoch.
    pub max_batches: Option<usize>,
}

impl Args {
    /// Parses flags (without the program name) over `self` as the defaults; an unknown flag or a
    /// bad value is an error naming it.
    pub fn parse<I: IntoIterator<Item = String>>(mut self, args: I) -> Result<Self> {
        let mut it = args.into_iter();
        while let Some(flag) = it.next() {
            let mut value = || {
                it.next()
                    .ok_or_else(|| SjError::config("examples", format!("{flag} needs a value")))
            };
            let bad = |v: &str| SjError::config("examples", format!("bad value '{v}' for {flag}"));
            macro_rules! num {
                () => {{
                    let v = value()?;
                    v.parse().map_err(|_| bad(&v))?
                }};
            }
            match flag.as_str() {
                "-T" => self.t = num!(),
                "-b" => self.b = num!(),
                "-epochs" => self.epochs = num!(),
                "-j" => self.j = num!(),
                "-momentum" => self.momentum = num!(),
                "-lr" => self.lr = num!(),
                "-tau" => self.tau = num!(),
                "-channels" => self.channels = num!(),
                "-channels2" => self.channels2 = Some(num!()),
                "-hidden" => self.hidden = Some(num!()),
                "-seed" => self.seed = num!(),
                "-train-samples" => self.train_samples = Some(num!()),
                "-max-batches" => self.max_batches = Some(num!()),
                "-data-dir" => self.data_dir = PathBuf::from(value()?),
                "-out-dir" => self.out_dir = Some(PathBuf::from(value()?)),
                "-resume" => self.resume = true,
                "-cosine" => self.cosine = true,
                "-cupy" => self.backend = Backend::Cuda,
                "-backend" => self.backend = value()?.parse()?,
                "-opt" => {
                    let v = value()?;
                    if v != "sgd" && v != "adam" {
                        return Err(bad(&v));
                    }
                    self.opt = v;
                }
                "-device" => {
                    let v = value()?;
                    self.device = crate::record::device::parse(&v).ok_or_else(|| bad(&v))?;
                }
                other => return Err(SjError::config("examples", format!("unknown flag {other}"))),
            }
        }
        Ok(self)
    }

    /// The run's directory under `-out-dir`, named like SpikingJelly's (`T4_b128_sgd_lr0.1_c16`,
    /// `_cupy` added for `-cupy`).
    pub fn run_dir(&self, channels: bool) -> Option<PathBuf> {
        let c = match (channels, self.channels2, self.hidden) {
            (false, ..) => String::new(),
            (true, None, None) => format!("_c{}", self.channels),
            (true, c2, h) => format!(
                "_c{}-{}_h{}",
                self.channels,
                c2.unwrap_or(self.channels),
                h.map_or("auto".into(), |h| h.to_string())
            ),
        };
        let cupy = if self.backend == Backend::Cuda {
            "_cupy"
        } else {
            ""
        };
        self.out_dir.as_ref().map(|d| {
            d.join(format!(
                "T{}_b{}_{}_lr{}{c}{cupy}",
                self.t, self.b, self.opt, self.lr
            ))
        })
    }

    /// Sets `-backend` on every neuron of `net`, warning (like SpikingJelly) about the ones that
    /// keep their backend; `auto` (the default) leaves every module as it is.
    pub fn apply_backend(&self, net: &mut dyn Module) {
        if self.backend == Backend::Auto {
            return;
        }
        let kept = set_backend(net, self.backend);
        if !kept.is_empty() {
            eprintln!(
                "warning: backend {} is not supported by {kept:?}; they keep theirs",
                self.backend
            );
        }
    }

    /// The train and test loaders of the scripts: `-b`, `-device`, `-j`, images to float tensors,
    /// the training set cut to `-train-samples` and shuffled with `-seed` (dropping the last
    /// partial batch when `drop_last`).
    pub fn loaders(
        &self,
        train: ImageDataset,
        test: ImageDataset,
        drop_last: bool,
    ) -> Result<(DataLoader, DataLoader)> {
        let train = match self.train_samples {
            Some(n) => train.subset(&(0..n.min(train.labels().len())).collect::<Vec<_>>())?,
            None => train,
        };
        let loader = |d| -> Result<DataLoader> {
            Ok(DataLoader::new(d, self.b)?
                .with_device(self.device)
                .with_prefetch(self.j)
                .with_transform(ToTensor))
        };
        Ok((
            loader(train)?
                .with_shuffle(self.seed)
                .with_drop_last(drop_last),
            loader(test)?,
        ))
    }

    /// The optimizer `-opt` asks for over `vs`'s parameters.
    pub fn optimizer(&self, vs: &nn::VarStore) -> Result<Box<dyn Optimizer>> {
        Ok(match self.opt.as_str() {
            "adam" => Box::new(Adam::new(vs, self.lr)?),
            _ => Box::new(SGD::new(vs, self.lr)?.with_momentum(self.momentum)?),
        })
    }

    /// Trains `net` as the scripts do: with [`Args::trainer`] over `run_dir`, where it first
    /// writes the run record, `args.json` (these flags) and `run.json` (the trainer's
    /// configuration and the network's repr), as SpikingJelly's scripts write `args.txt`; the
    /// trainer adds checkpoints and `log.csv` / `log.parquet` after every epoch.
    pub fn fit<F>(
        &self,
        run_dir: Option<PathBuf>,
        net: &mut dyn Module,
        vs: &nn::VarStore,
        train: &DataLoader,
        test: &DataLoader,
        forward: F,
    ) -> Result<TrainLog>
    where
        F: FnMut(&mut dyn Module, &Tensor) -> Result<Tensor>,
    {
        self.apply_backend(net);
        let mut optimizer = self.optimizer(vs)?;
        let trainer = self.trainer(run_dir.clone())?;
        if let Some(dir) = &run_dir {
            save_json(dir.join("args.json"), self)?;
            save_json(
                dir.join("run.json"),
                &serde_json::json!({ "trainer": trainer, "network": repr(&*net) }),
            )?;
        }
        trainer.fit(net, vs, optimizer.as_mut(), train, test, forward)
    }

    /// The trainer for these flags (checkpoints in `run_dir` when `-out-dir` is given).
    pub fn trainer(&self, run_dir: Option<PathBuf>) -> Result<Trainer> {
        let mut trainer = Trainer::new(self.epochs)
            .with_seed(self.seed)
            .with_resume(self.resume);
        if self.cosine {
            trainer = trainer.with_schedule(LrSchedule::cosine(self.epochs.max(1))?);
        }
        if let Some(dir) = run_dir {
            trainer = trainer.with_checkpoint_dir(dir);
        }
        if let Some(m) = self.max_batches {
            trainer = trainer.with_max_batches(m);
        }
        Ok(trainer)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_parse_like_the_python_scripts() {
        let base = lif_fc_mnist::default_args();
        let args = [
            "-T", "8", "-b", "32", "-opt", "sgd", "-lr", "0.5", "-out-dir", "/tmp/x", "-resume",
            "-device", "cuda:1",
        ];
        let a = base
            .clone()
            .parse(args.iter().map(|s| s.to_string()))
            .unwrap();
        assert_eq!(
            (a.t, a.b, a.opt.as_str(), a.lr, a.resume, a.device),
            (8, 32, "sgd", 0.5, true, Device::Cuda(1))
        );
        assert_eq!(
            a.run_dir(false).unwrap(),
            PathBuf::from("/tmp/x/T8_b32_sgd_lr0.5")
        );
        let err = |v: &[&str]| {
            base.clone()
                .parse(v.iter().map(|s| s.to_string()))
                .unwrap_err()
                .to_string()
        };
        assert_eq!(err(&["-T", "x"]), "examples: bad value 'x' for -T");
        assert_eq!(
            err(&["-opt", "rmsprop"]),
            "examples: bad value 'rmsprop' for -opt"
        );
        assert_eq!(err(&["-b"]), "examples: -b needs a value");
        assert_eq!(err(&["--amp"]), "examples: unknown flag --amp");
        let parse = |v: &[&str]| base.clone().parse(v.iter().map(|s| s.to_string())).unwrap();
        assert_eq!(parse(&["-cupy"]).backend, Backend::Cuda);
        assert_eq!(parse(&["-backend", "torch"]).backend, Backend::Torch);
        assert!(err(&["-backend", "lava"]).contains("'lava'"));
    }
}
