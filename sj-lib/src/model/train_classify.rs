//! `model.train_classify`: SpikingJelly's classification Trainer (torchvision's classification
//! reference, inventory §2.10, checklist 168-175, 282): its command line, and its steps as a trait
//! whose methods a user overrides, as SpikingJelly users subclass `Trainer`.
//!
//! [`get_args_parser`] is SpikingJelly's parser (every flag and default, `-h`) plus
//! `SResNetTrainer`'s `--T` and `--cupy`, and sj's `--dataset`, `--cnf`, `--train-samples`,
//! `--test-samples`. [`main`] trains as `Trainer().main(args)` does, with sj's
//! [`Trainer`]: SGD (nesterov), RMSprop, AdamW, Adam; step / cosine / exponential schedules with
//! linear or constant warm-up; label smoothing, mixup, cutmix, model EMA, gradient clipping;
//! automatic mixed precision (bfloat16 autocast on the CPU, float16 with loss scaling on CUDA;
//! `--disable-amp` turns it off); Acc@1 and Acc@5; TensorBoard scalars in `<output-dir>/<logdir name>`, checkpoints
//! (`checkpoint_latest`, `checkpoint_max`) and `log.csv` in `<output-dir>/pt/<logdir name>`.
//!
//! ```no_run
//! use sj::model::train_classify::{self, ClassifyTrainer, SResNetTrainer};
//! # fn main() -> sj::Result<()> {
//! let args = train_classify::parse_args(
//!     &SResNetTrainer.get_args_parser(),
//!     ["--model", "sew_resnet18", "--dataset", "fashion_mnist", "--data-path", "/data", "--T", "4",
//!      "--epochs", "2", "-b", "32", "--device", "cpu"],
//! )?;
//! let log = train_classify::main(&SResNetTrainer, &args.expect("not -h")?)?;
//! # let _ = log; Ok(()) }
//! ```
//!
//! Differences from SpikingJelly, all stated in `-h`: `--device` defaults to `auto` (CUDA when
//! usable, else the CPU) instead of `cuda`; `--weights` is a state-dict file (`.pth`,
//! `.safetensors`) to start from; `--pretrained` is an error (no network at run time: download
//! the torchvision `.pth` and pass `--weights`); the ImageNet-only augmentations
//! (`--auto-augment`, `--random-erase`, `--ra-sampler`, `--interpolation`, `--val-resize-size`),
//! `--sync-bn` and `--cache-dataset` have no effect (a set flag is reported), and data parallelism (`--world-size`, `--dist-url`) is the distributed issue's.
use super::{get_model, ConnectFunction, ModelSpec, SpikingNeuron};
use crate::base::{Backend, Module, StepMode};
use crate::error::{Result, SjError};
use crate::functional::{set_backend, set_step_mode};
use crate::neuron::{IFNode, NodeOptions};
use crate::record::save_json;
use crate::surrogate::Surrogate;
use crate::training::{
    Adam, LrSchedule, ModelEma, Optimizer, RMSprop, TrainLog, Trainer, Warmup, WarmupMethod, SGD,
};
pub use clap;
use clap::{value_parser, Arg, ArgAction, ArgMatches, Command};
use sj_datasets::{
    DataLoader, FashionMNIST, ImageDataset, ImageFolder, Normalize, ToTensor, CIFAR10, MNIST,
};
use std::collections::BTreeMap;
use std::path::PathBuf;
use tch::{nn, Device, Kind, Tensor};

/// The parsed flags (`args` of SpikingJelly's Trainer), written to `args.json` in the log
/// directory. Flags a user adds to the parser land in `extra` as text.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[allow(missing_docs)] // each field is the flag of the same name; `-h` documents them
pub struct TrainArgs {
    pub data_path: PathBuf,
    pub dataset: String,
    pub model: String,
    pub device: String,
    pub batch_size: usize,
    pub epochs: usize,
    pub workers: usize,
    pub opt: String,
    pub lr: f64,
    pub momentum: f64,
    pub weight_decay: f64,
    pub norm_weight_decay: Option<f64>,
    pub label_smoothing: f64,
    pub mixup_alpha: f64,
    pub cutmix_alpha: f64,
    pub lr_scheduler: String,
    pub lr_warmup_epochs: usize,
    pub lr_warmup_method: String,
    pub lr_warmup_decay: f64,
    pub lr_step_size: usize,
    pub lr_gamma: f64,
    pub output_dir: PathBuf,
    pub resume: Option<String>,
    pub start_epoch: usize,
    pub cache_dataset: bool,
    pub sync_bn: bool,
    pub test_only: bool,
    pub pretrained: bool,
    pub auto_augment: Option<String>,
    pub random_erase: f64,
    pub world_size: usize,
    pub dist_url: String,
    pub model_ema: bool,
    pub model_ema_steps: usize,
    pub model_ema_decay: f64,
    pub interpolation: String,
    pub val_resize_size: usize,
    pub val_crop_size: usize,
    pub train_crop_size: usize,
    pub clip_grad_norm: Option<f64>,
    pub ra_sampler: bool,
    pub ra_reps: usize,
    pub prototype: bool,
    pub weights: Option<PathBuf>,
    pub seed: u64,
    pub print_logdir: bool,
    pub clean: bool,
    pub disable_pinmemory: bool,
    pub persistent_workers: bool,
    pub prefetch_factor: usize,
    pub disable_amp: bool,
    pub local_rank: Option<i64>,
    pub disable_uda: bool,
    #[serde(rename = "T")]
    pub t: i64,
    pub cupy: bool,
    pub cnf: ConnectFunction,
    pub train_samples: Option<usize>,
    pub test_samples: Option<usize>,
    pub extra: BTreeMap<String, String>,
}

fn value(id: &'static str, default: Option<&'static str>, help: &'static str) -> Arg {
    let arg = Arg::new(id).long(id).help(help);
    match default {
        Some(d) => arg.default_value(d),
        None => arg,
    }
}

fn flag(id: &'static str, help: &'static str) -> Arg {
    Arg::new(id).long(id).action(ArgAction::SetTrue).help(help)
}

/// SpikingJelly's `Trainer.get_args_parser()` with `SResNetTrainer`'s and sj's flags. Add your own
/// with `.arg(...)` (they come back in [`TrainArgs::extra`]).
pub fn get_args_parser() -> Command {
    Command::new("train_classify")
        .about("PyTorch Classification Training, SpikingJelly's Trainer in sj")
        .arg(value("data-path", Some("/datasets01/imagenet_full_size/061417/"), "dataset path"))
        .arg(value("dataset", Some("imagefolder"), "sj: imagefolder (data-path/train, data-path/val, as ImageNet), cifar10 (the binary version), fashion_mnist or mnist"))
        .arg(value("model", Some("spiking_resnet18"), "model name (the sj::model zoo)"))
        .arg(value("device", Some("auto"), "device: auto (sj: CUDA when usable), cpu, cuda, cuda:N"))
        .arg(value("batch-size", Some("32"), "images per gpu, the total batch size is $NGPU x batch_size").short('b').value_parser(value_parser!(usize)))
        .arg(value("epochs", Some("90"), "number of total epochs to run").value_parser(value_parser!(usize)))
        .arg(value("workers", Some("16"), "number of data loading workers (sj: batches prepared ahead)").short('j').value_parser(value_parser!(usize)))
        .arg(value("opt", Some("sgd"), "optimizer: sgd, sgd_nesterov, rmsprop, adamw (sj: adam too)"))
        .arg(value("lr", Some("0.1"), "initial learning rate").value_parser(value_parser!(f64)))
        .arg(value("momentum", Some("0.9"), "momentum").value_parser(value_parser!(f64)))
        .arg(value("weight-decay", Some("0"), "weight decay").visible_alias("wd").value_parser(value_parser!(f64)))
        .arg(value("norm-weight-decay", None, "weight decay for normalization layers (default: None, same value as --wd)").value_parser(value_parser!(f64)))
        .arg(value("label-smoothing", Some("0.1"), "label smoothing").value_parser(value_parser!(f64)))
        .arg(value("mixup-alpha", Some("0.2"), "mixup alpha").value_parser(value_parser!(f64)))
        .arg(value("cutmix-alpha", Some("1.0"), "cutmix alpha").value_parser(value_parser!(f64)))
        .arg(value("lr-scheduler", Some("cosa"), "the lr scheduler: step, cosa, exp"))
        .arg(value("lr-warmup-epochs", Some("5"), "the number of epochs to warmup").value_parser(value_parser!(usize)))
        .arg(value("lr-warmup-method", Some("linear"), "the warmup method: linear, constant"))
        .arg(value("lr-warmup-decay", Some("0.01"), "the decay for lr").value_parser(value_parser!(f64)))
        .arg(value("lr-step-size", Some("30"), "decrease lr every step-size epochs").value_parser(value_parser!(usize)))
        .arg(value("lr-gamma", Some("0.1"), "decrease lr by a factor of lr-gamma").value_parser(value_parser!(f64)))
        .arg(value("output-dir", Some("./logs"), "path to save outputs"))
        .arg(value("resume", None, "path of checkpoint, or 'latest' (the run folder's checkpoint_latest)"))
        .arg(value("start-epoch", Some("0"), "start epoch (sj: taken from the checkpoint)").value_parser(value_parser!(usize)))
        .arg(flag("cache-dataset", "cache the datasets for quicker initialization (sj: no effect)"))
        .arg(flag("sync-bn", "use sync batch norm (sj: no effect)"))
        .arg(flag("test-only", "only test the model"))
        .arg(flag("pretrained", "use pre-trained models from the modelzoo (sj: an error; use --weights)"))
        .arg(value("auto-augment", Some("ta_wide"), "auto augment policy (sj: no effect)"))
        .arg(value("random-erase", Some("0.1"), "random erasing probability (sj: no effect)").value_parser(value_parser!(f64)))
        .arg(value("world-size", Some("1"), "number of distributed processes (sj: 1 only)").value_parser(value_parser!(usize)))
        .arg(value("dist-url", Some("env://"), "url used to set up distributed training"))
        .arg(flag("model-ema", "enable tracking Exponential Moving Average of model parameters"))
        .arg(value("model-ema-steps", Some("32"), "the number of iterations that controls how often to update the EMA model").value_parser(value_parser!(usize)))
        .arg(value("model-ema-decay", Some("0.99998"), "decay factor for Exponential Moving Average of model parameters").value_parser(value_parser!(f64)))
        .arg(value("interpolation", Some("bilinear"), "the interpolation method (sj: bilinear)"))
        .arg(value("val-resize-size", Some("232"), "the resize size used for validation (sj: no effect)").value_parser(value_parser!(usize)))
        .arg(value("val-crop-size", Some("224"), "the central crop size used for validation (sj: imagefolder test images are resized to it)").value_parser(value_parser!(usize)))
        .arg(value("train-crop-size", Some("176"), "the random crop size used for training (sj: imagefolder training images are resized to it)").value_parser(value_parser!(usize)))
        .arg(value("clip-grad-norm", None, "the maximum gradient norm (default None)").value_parser(value_parser!(f64)))
        .arg(flag("ra-sampler", "whether to use Repeated Augmentation in training (sj: no effect)"))
        .arg(value("ra-reps", Some("4"), "number of repetitions for Repeated Augmentation").value_parser(value_parser!(usize)))
        .arg(flag("prototype", "use prototype model builders instead those from main area (sj: no effect)"))
        .arg(value("weights", None, "sj: a state-dict file (.pth, .pt, .safetensors, .ot) to start from"))
        .arg(value("seed", Some("2020"), "the random seed").value_parser(value_parser!(u64)))
        .arg(flag("print-logdir", "print the dirs for tensorboard logs and pt files and exit"))
        .arg(flag("clean", "delete the dirs for tensorboard logs and pt files"))
        .arg(flag("disable-pinmemory", "not use pin memory in dataloader, which can help reduce memory consumption"))
        .arg(flag("persistent-workers", "keep data loading workers alive (sj: the loader has none to keep)"))
        .arg(value("prefetch-factor", Some("2"), "batches prefetched per worker (sj: see --workers)").value_parser(value_parser!(usize)))
        .arg(flag("disable-amp", "not use automatic mixed precision training (sj: AMP is bfloat16 autocast on the CPU, float16 with loss scaling on CUDA)"))
        .arg(Arg::new("local_rank").long("local_rank").value_parser(value_parser!(i64)).help("local rank, set by the launcher (sj: one process)"))
        .arg(flag("disable-uda", "not set 'torch.use_deterministic_algorithms(True)' (sj: always deterministic on the CPU)"))
        .arg(value("T", Some("4"), "total time-steps (SResNetTrainer)").value_parser(value_parser!(i64)))
        .arg(flag("cupy", "use the CUDA neuron kernels (SResNetTrainer)"))
        .arg(value("cnf", Some("ADD"), "sj: the SEW ResNets' connect function: ADD, AND, IAND"))
        .arg(value("train-samples", None, "sj: train on the first n training samples").value_parser(value_parser!(usize)))
        .arg(value("test-samples", None, "sj: test on the first n test samples").value_parser(value_parser!(usize)))
}

/// What [`parse_args`] found.
#[derive(Clone, Debug, PartialEq)]
pub enum Parsed {
    /// Flags to train with.
    Args(Box<TrainArgs>),
    /// `-h` / `--help` was given: the help text.
    Help(String),
}

impl Parsed {
    /// The flags; an error carrying the help text when `-h` was given.
    pub fn expect(self, what: &str) -> Result<TrainArgs> {
        match self {
            Parsed::Args(a) => Ok(*a),
            Parsed::Help(h) => Err(SjError::config("train_classify", format!("{what}:\n{h}"))),
        }
    }
}

/// Parses `argv` (without the program name) with `parser`; a bad flag or value is an error with
/// clap's message.
pub fn parse_args<I, S>(parser: &Command, argv: I) -> Result<Parsed>
where
    I: IntoIterator<Item = S>,
    S: Into<std::ffi::OsString> + Clone,
{
    let argv = std::iter::once(std::ffi::OsString::from("train_classify"))
        .chain(argv.into_iter().map(Into::into));
    match parser.clone().try_get_matches_from(argv) {
        Ok(m) => Ok(Parsed::Args(Box::new(TrainArgs::from_matches(&m)?))),
        Err(e) if e.kind() == clap::error::ErrorKind::DisplayHelp => {
            Ok(Parsed::Help(e.render().to_string()))
        }
        Err(e) => Err(SjError::config(
            "train_classify",
            e.render().to_string().trim_end(),
        )),
    }
}

/// The ids [`get_args_parser`] defines (the rest are a user's, kept in `extra`).
const KNOWN: &[&str] = &[
    "data-path",
    "dataset",
    "model",
    "device",
    "batch-size",
    "epochs",
    "workers",
    "opt",
    "lr",
    "momentum",
    "weight-decay",
    "norm-weight-decay",
    "label-smoothing",
    "mixup-alpha",
    "cutmix-alpha",
    "lr-scheduler",
    "lr-warmup-epochs",
    "lr-warmup-method",
    "lr-warmup-decay",
    "lr-step-size",
    "lr-gamma",
    "output-dir",
    "resume",
    "start-epoch",
    "cache-dataset",
    "sync-bn",
    "test-only",
    "pretrained",
    "auto-augment",
    "random-erase",
    "world-size",
    "dist-url",
    "model-ema",
    "model-ema-steps",
    "model-ema-decay",
    "interpolation",
    "val-resize-size",
    "val-crop-size",
    "train-crop-size",
    "clip-grad-norm",
    "ra-sampler",
    "ra-reps",
    "weights",
    "seed",
    "print-logdir",
    "clean",
    "disable-pinmemory",
    "disable-amp",
    "disable-uda",
    "T",
    "prototype",
    "persistent-workers",
    "prefetch-factor",
    "local_rank",
    "cupy",
    "cnf",
    "train-samples",
    "test-samples",
];

impl TrainArgs {
    /// The flags of a match of [`get_args_parser`] (or a parser built on it).
    pub fn from_matches(m: &ArgMatches) -> Result<Self> {
        fn get<T: Clone + Send + Sync + 'static>(m: &ArgMatches, id: &str) -> Option<T> {
            m.try_get_one::<T>(id).ok().flatten().cloned()
        }
        let text = |id: &str| get::<String>(m, id).unwrap_or_default();
        let num = |id: &str| get::<usize>(m, id).unwrap_or_default();
        let real = |id: &str| get::<f64>(m, id).unwrap_or_default();
        let on = |id: &str| {
            m.try_get_one::<bool>(id)
                .ok()
                .flatten()
                .copied()
                .unwrap_or(false)
        };
        let mut extra = BTreeMap::new();
        for id in m.ids().map(|i| i.as_str()).filter(|i| !KNOWN.contains(i)) {
            if let Ok(Some(values)) = m.try_get_raw(id) {
                let v: Vec<String> = values.map(|v| v.to_string_lossy().into_owned()).collect();
                extra.insert(id.to_string(), v.join(" "));
            }
        }
        Ok(TrainArgs {
            data_path: text("data-path").into(),
            dataset: text("dataset"),
            model: text("model"),
            device: text("device"),
            batch_size: num("batch-size"),
            epochs: num("epochs"),
            workers: num("workers"),
            opt: text("opt"),
            lr: real("lr"),
            momentum: real("momentum"),
            weight_decay: real("weight-decay"),
            norm_weight_decay: get(m, "norm-weight-decay"),
            label_smoothing: real("label-smoothing"),
            mixup_alpha: real("mixup-alpha"),
            cutmix_alpha: real("cutmix-alpha"),
            lr_scheduler: text("lr-scheduler"),
            lr_warmup_epochs: num("lr-warmup-epochs"),
            lr_warmup_method: text("lr-warmup-method"),
            lr_warmup_decay: real("lr-warmup-decay"),
            lr_step_size: num("lr-step-size"),
            lr_gamma: real("lr-gamma"),
            output_dir: text("output-dir").into(),
            resume: get(m, "resume"),
            start_epoch: num("start-epoch"),
            cache_dataset: on("cache-dataset"),
            sync_bn: on("sync-bn"),
            test_only: on("test-only"),
            pretrained: on("pretrained"),
            auto_augment: get(m, "auto-augment"),
            random_erase: real("random-erase"),
            world_size: num("world-size"),
            dist_url: text("dist-url"),
            model_ema: on("model-ema"),
            model_ema_steps: num("model-ema-steps"),
            model_ema_decay: real("model-ema-decay"),
            interpolation: text("interpolation"),
            val_resize_size: num("val-resize-size"),
            val_crop_size: num("val-crop-size"),
            train_crop_size: num("train-crop-size"),
            clip_grad_norm: get(m, "clip-grad-norm"),
            ra_sampler: on("ra-sampler"),
            ra_reps: num("ra-reps"),
            prototype: on("prototype"),
            weights: get::<String>(m, "weights").map(PathBuf::from),
            seed: get(m, "seed").unwrap_or(2020),
            print_logdir: on("print-logdir"),
            clean: on("clean"),
            disable_pinmemory: on("disable-pinmemory"),
            persistent_workers: on("persistent-workers"),
            prefetch_factor: num("prefetch-factor"),
            disable_amp: on("disable-amp"),
            local_rank: get(m, "local_rank"),
            disable_uda: on("disable-uda"),
            t: get(m, "T").unwrap_or(4),
            cupy: on("cupy"),
            cnf: text("cnf").parse()?,
            train_samples: get(m, "train-samples"),
            test_samples: get(m, "test-samples"),
            extra,
        })
    }

    /// `--device` as a tch device (`auto`: CUDA when usable, else the CPU).
    pub fn device(&self) -> Result<Device> {
        match self.device.as_str() {
            "auto" => Ok(crate::device::best_device()),
            d => crate::record::device::parse(d).ok_or_else(|| {
                SjError::config(
                    "train_classify",
                    format!("bad --device '{d}': use auto, cpu, cuda or cuda:N"),
                )
            }),
        }
    }
}

/// The data of a run: loaders, classes and input channels.
pub struct Data {
    /// Training batches (shuffled with `--seed`).
    pub train: DataLoader,
    /// Test batches.
    pub test: DataLoader,
    /// Number of classes.
    pub num_classes: i64,
    /// Channels of an image.
    pub in_channels: i64,
}

/// SpikingJelly's Trainer steps. Every method has SpikingJelly's default (for `load_model` and
/// the sample/output hooks, `SResNetTrainer`'s: the image repeated `--T` times, the output
/// averaged over time); override the ones to change, as a subclass of `Trainer` would.
pub trait ClassifyTrainer {
    /// `get_args_parser()`: add flags with `.arg(...)`.
    fn get_args_parser(&self) -> Command {
        get_args_parser()
    }

    /// `load_data(args)`: the `--dataset` at `--data-path`, cut to `--train-samples` /
    /// `--test-samples`.
    fn load_data(&self, args: &TrainArgs) -> Result<Data> {
        load_data(args)
    }

    /// `load_model(args, num_classes)`: `--model` from the zoo with `IFNode(surrogate ATan,
    /// detach_reset)` neurons, in step mode `'m'` (CUDA kernels with `--cupy`).
    fn load_model(
        &self,
        args: &TrainArgs,
        path: &nn::Path,
        data: &Data,
    ) -> Result<Box<dyn Module>> {
        fn if_atan(_: &nn::Path) -> Result<Box<dyn Module>> {
            Ok(Box::new(
                IFNode::new()
                    .with_surrogate(Surrogate::atan(2.0)?)
                    .with_detach_reset(true),
            ))
        }
        load_zoo_model(args, path, data, &if_atan)
    }

    /// `preprocess_train_sample(args, x)`: `[N, C, H, W]` repeated `--T` times.
    fn preprocess_train_sample(&self, args: &TrainArgs, x: &Tensor) -> Result<Tensor> {
        repeat_t(args, x)
    }

    /// `preprocess_test_sample(args, x)`.
    fn preprocess_test_sample(&self, args: &TrainArgs, x: &Tensor) -> Result<Tensor> {
        repeat_t(args, x)
    }

    /// `process_model_output(args, y)`: the mean over time of `[T, N, classes]`.
    fn process_model_output(&self, _args: &TrainArgs, y: Tensor) -> Result<Tensor> {
        Ok(y.f_mean_dim(0, false, Kind::Float)?)
    }

    /// `set_optimizer(args, parameters)`: `--opt` starting with `sgd` (nesterov when the name
    /// has it), `rmsprop` (eps 0.0316, alpha 0.9), `adamw`, and sj's `adam`.
    fn set_optimizer(&self, args: &TrainArgs, vs: &nn::VarStore) -> Result<Box<dyn Optimizer>> {
        set_optimizer(args, vs)
    }

    /// `set_lr_scheduler(args, optimizer)`: `--lr-scheduler` with its warm-up.
    fn set_lr_scheduler(&self, args: &TrainArgs) -> Result<(LrSchedule, Option<Warmup>)> {
        set_lr_scheduler(args)
    }

    /// `get_tb_logdir_name(args)`: SpikingJelly's name with `SResNetTrainer`'s `_T<T>`.
    fn get_tb_logdir_name(&self, args: &TrainArgs) -> String {
        format!("{}_T{}", tb_logdir_name(args), args.t)
    }
}

/// SpikingJelly's Trainer with `SResNetTrainer`'s model and sample hooks (every default of
/// [`ClassifyTrainer`]).
#[derive(Clone, Copy, Debug, Default)]
pub struct SResNetTrainer;

impl ClassifyTrainer for SResNetTrainer {}

/// `[N, ...]` repeated `--T` times: `[T, N, ...]`.
pub fn repeat_t(args: &TrainArgs, x: &Tensor) -> Result<Tensor> {
    if args.t < 1 {
        return Err(SjError::config(
            "train_classify",
            format!("--T must be at least 1, got {}", args.t),
        ));
    }
    let mut reps = vec![args.t];
    reps.extend(std::iter::repeat_n(1, x.dim()));
    Ok(x.f_unsqueeze(0)?.f_repeat(&reps)?)
}

/// The zoo model `--model` for `data` built with `neuron`, in step mode `'m'`, with the CUDA
/// neuron kernels under `--cupy`.
pub fn load_zoo_model<N: SpikingNeuron>(
    args: &TrainArgs,
    path: &nn::Path,
    data: &Data,
    neuron: &N,
) -> Result<Box<dyn Module>> {
    let spec = ModelSpec {
        num_classes: data.num_classes,
        in_channels: data.in_channels,
        cnf: args.cnf,
        channels: None,
    };
    let mut net = get_model(&args.model, path, neuron, &spec)?;
    set_step_mode(net.as_mut(), StepMode::M)?;
    if args.cupy {
        let kept = set_backend(net.as_mut(), Backend::Cuda);
        if !kept.is_empty() {
            eprintln!("warning: --cupy: {kept:?} keep their backend");
        }
    }
    Ok(net)
}

/// SpikingJelly's `get_tb_logdir_name`: `{model}_b{batch}_e{epochs}_{opt}_lr{lr}_wd{wd}_ls{ls}
/// _ma{mixup}_ca{cutmix}_sbn{0|1}_ra{reps|0}_re{erase}_aaug{policy}_size{train}_{resize}_{crop}
/// _seed{seed}`, numbers as Python prints them.
pub fn tb_logdir_name(args: &TrainArgs) -> String {
    let py = py_float;
    format!(
        "{}_b{}_e{}_{}_lr{}_wd{}_ls{}_ma{}_ca{}_sbn{}_ra{}_re{}_aaug{}_size{}_{}_{}_seed{}",
        args.model,
        args.batch_size,
        args.epochs,
        args.opt,
        py(args.lr),
        py(args.weight_decay),
        py(args.label_smoothing),
        py(args.mixup_alpha),
        py(args.cutmix_alpha),
        u8::from(args.sync_bn),
        if args.ra_sampler { args.ra_reps } else { 0 },
        py(args.random_erase),
        args.auto_augment.as_deref().unwrap_or("None"),
        args.train_crop_size,
        args.val_resize_size,
        args.val_crop_size,
        args.seed
    )
}

/// `str(v)` of a Python float: `0.1`, `0.0`, `1e-05`, `1e+16`.
fn py_float(v: f64) -> String {
    let a = v.abs();
    if v != 0.0 && v.is_finite() && !(1e-4..1e16).contains(&a) {
        let s = format!("{v:e}"); // e.g. 1e-5, 1.5e16
        let (mantissa, exp) = s.split_once('e').unwrap_or((&s, "0"));
        let exp: i32 = exp.parse().unwrap_or(0);
        let sign = if exp < 0 { '-' } else { '+' };
        return format!("{mantissa}e{sign}{:02}", exp.abs());
    }
    if v.fract() == 0.0 && v.is_finite() {
        format!("{v:.1}")
    } else {
        format!("{v}")
    }
}

/// The optimizer of [`ClassifyTrainer::set_optimizer`].
pub fn set_optimizer(args: &TrainArgs, vs: &nn::VarStore) -> Result<Box<dyn Optimizer>> {
    if args.norm_weight_decay.is_some() {
        return Err(SjError::config(
            "train_classify",
            "--norm-weight-decay (a separate weight decay for norm layers) is not supported; leave it unset",
        ));
    }
    let name = args.opt.to_lowercase();
    let (lr, wd) = (args.lr, args.weight_decay);
    Ok(if name.starts_with("sgd") {
        Box::new(
            SGD::new(vs, lr)?
                .with_momentum(args.momentum)?
                .with_weight_decay(wd)?
                .with_nesterov(name.contains("nesterov"))?,
        )
    } else if name == "rmsprop" {
        Box::new(
            RMSprop::new(vs, lr)?
                .with_momentum(args.momentum)?
                .with_weight_decay(wd)?
                .with_eps(0.0316)?
                .with_alpha(0.9)?,
        )
    } else if name == "adamw" {
        Box::new(Adam::adamw(vs, lr)?.with_weight_decay(wd)?)
    } else if name == "adam" {
        Box::new(Adam::new(vs, lr)?.with_weight_decay(wd)?)
    } else {
        return Err(SjError::config(
            "train_classify",
            format!(
                "Invalid optimizer {}. Only SGD, RMSprop, AdamW and Adam are supported.",
                args.opt
            ),
        ));
    })
}

/// The schedule of [`ClassifyTrainer::set_lr_scheduler`]: `step` (StepLR), `cosa`
/// (CosineAnnealingLR with `T_max = epochs − warm-up epochs`), `exp` (ExponentialLR), after a
/// `linear` or `constant` warm-up of `--lr-warmup-epochs` epochs (none when 0).
pub fn set_lr_scheduler(args: &TrainArgs) -> Result<(LrSchedule, Option<Warmup>)> {
    let main = match args.lr_scheduler.to_lowercase().as_str() {
        "step" => LrSchedule::step(args.lr_step_size, args.lr_gamma)?,
        "cosa" => LrSchedule::cosine(args.epochs.saturating_sub(args.lr_warmup_epochs).max(1))?,
        "exp" => LrSchedule::exponential(args.lr_gamma)?,
        other => {
            return Err(SjError::config(
                "train_classify",
                format!("Invalid lr scheduler '{other}'. Only StepLR (step), CosineAnnealingLR (cosa) and ExponentialLR (exp) are supported."),
            ))
        }
    };
    if args.lr_warmup_epochs == 0 {
        return Ok((main, None));
    }
    let method = match args.lr_warmup_method.to_lowercase().as_str() {
        "linear" => WarmupMethod::Linear,
        "constant" => WarmupMethod::Constant,
        other => {
            return Err(SjError::config(
                "train_classify",
                format!(
                    "Invalid warmup lr method '{other}'. Only linear and constant are supported."
                ),
            ))
        }
    };
    Ok((
        main,
        Some(Warmup {
            method,
            epochs: args.lr_warmup_epochs,
            decay: args.lr_warmup_decay,
        }),
    ))
}

/// The data of [`ClassifyTrainer::load_data`].
pub fn load_data(args: &TrainArgs) -> Result<Data> {
    let root = &args.data_path;
    let (train, test, normalize) = match args.dataset.as_str() {
        "imagefolder" => {
            let side = |s: usize| [s, s];
            (
                ImageFolder::new(root.join("train"), side(args.train_crop_size))?,
                ImageFolder::new(root.join("val"), side(args.val_crop_size))?,
                Some(([0.485, 0.456, 0.406], [0.229, 0.224, 0.225])),
            )
        }
        "cifar10" => (
            CIFAR10::new(root, true)?,
            CIFAR10::new(root, false)?,
            Some(([0.4914, 0.4822, 0.4465], [0.2023, 0.1994, 0.2010])),
        ),
        "fashion_mnist" => (
            FashionMNIST::new(root, true)?,
            FashionMNIST::new(root, false)?,
            None,
        ),
        "mnist" => (MNIST::new(root, true)?, MNIST::new(root, false)?, None),
        other => {
            return Err(SjError::config(
                "train_classify",
                format!(
                    "unknown --dataset '{other}': use imagefolder, cifar10, fashion_mnist or mnist"
                ),
            ))
        }
    };
    let cut = |d: ImageDataset, n: Option<usize>| -> Result<ImageDataset> {
        Ok(match n {
            Some(n) => d.subset(&(0..n.min(d.labels().len())).collect::<Vec<_>>())?,
            None => d,
        })
    };
    let (train, test) = (
        cut(train, args.train_samples)?,
        cut(test, args.test_samples)?,
    );
    let num_classes = sj_datasets::Dataset::classes(&train).len() as i64;
    let in_channels = train.image_shape()[0] as i64;
    let device = args.device()?;
    let loader = |d: ImageDataset| -> Result<DataLoader> {
        let l = DataLoader::new(d, args.batch_size)?
            .with_device(device)
            .with_prefetch(args.workers);
        let l = l.with_transform(ToTensor);
        Ok(match normalize {
            Some((mean, std)) => l.with_transform(Normalize::new(&mean, &std)?),
            None => l,
        })
    };
    Ok(Data {
        train: loader(train)?.with_shuffle(args.seed),
        test: loader(test)?,
        num_classes,
        in_channels,
    })
}

/// The flags that change nothing in sj but were set to other than their defaults.
fn without_effect(args: &TrainArgs) -> Vec<&'static str> {
    let mut out = Vec::new();
    let mut note = |set: bool, flag: &'static str| {
        if set {
            out.push(flag);
        }
    };
    note(args.cache_dataset, "--cache-dataset");
    note(args.sync_bn, "--sync-bn");
    note(
        args.auto_augment.as_deref() != Some("ta_wide"),
        "--auto-augment",
    );
    note(args.random_erase != 0.1, "--random-erase");
    note(args.ra_sampler, "--ra-sampler");
    note(args.interpolation != "bilinear", "--interpolation");
    note(args.val_resize_size != 232, "--val-resize-size");
    note(args.start_epoch != 0, "--start-epoch");
    note(args.prototype, "--prototype");
    out
}

/// `Trainer().main(args)`: trains (or with `--test-only` tests) and returns the log.
pub fn main<T: ClassifyTrainer + ?Sized>(trainer: &T, args: &TrainArgs) -> Result<TrainLog> {
    let bad = |m: String| Err(SjError::config("train_classify", m));
    if args.pretrained {
        return bad("--pretrained needs a download (none at run time): fetch the torchvision .pth and pass --weights FILE".into());
    }
    if args.world_size != 1 {
        return bad(format!(
            "--world-size {}: sj trains in one process here",
            args.world_size
        ));
    }
    let name = trainer.get_tb_logdir_name(args);
    let tb_dir = args.output_dir.join(&name);
    let pt_dir = args.output_dir.join("pt").join(&name);
    if args.print_logdir {
        println!("{}\n{}", tb_dir.display(), pt_dir.display());
        return Ok(TrainLog::default());
    }
    if args.clean {
        for d in [&tb_dir, &pt_dir] {
            if d.exists() {
                std::fs::remove_dir_all(d).map_err(|source| SjError::Io {
                    path: d.display().to_string(),
                    source,
                })?;
            }
        }
    }
    let ignored = without_effect(args);
    if !ignored.is_empty() {
        eprintln!(
            "sj: {} have no effect here (see `train_classify -h`)",
            ignored.join(", ")
        );
    }
    // `--resume FILE` continues from that checkpoint: it becomes this run's latest.
    if let Some(file) = args.resume.as_deref().filter(|r| *r != "latest") {
        let latest = pt_dir.join("checkpoint_latest.safetensors");
        let io = |path: &std::path::Path| {
            let path = path.display().to_string();
            move |source| SjError::Io { path, source }
        };
        if !std::path::Path::new(file).is_file() {
            return bad(format!(
                "--resume {file}: no such checkpoint file (or use 'latest')"
            ));
        }
        std::fs::create_dir_all(&pt_dir).map_err(io(&pt_dir))?;
        if std::fs::canonicalize(file).ok() != std::fs::canonicalize(&latest).ok() {
            std::fs::copy(file, &latest).map_err(io(&latest))?;
        }
    }
    tch::manual_seed(args.seed as i64);
    let data = trainer.load_data(args)?;
    let vs = nn::VarStore::new(args.device()?);
    let mut net = trainer.load_model(args, &vs.root(), &data)?;
    if let Some(weights) = &args.weights {
        crate::state_dict::load_state_dict(&vs, weights)?;
    }
    let mut optimizer = trainer.set_optimizer(args, &vs)?;
    let (schedule, warmup) = trainer.set_lr_scheduler(args)?;
    let mut fit = Trainer::new(args.epochs)
        .with_seed(args.seed)
        .with_schedule(schedule)
        .with_loss(crate::training::Loss::CrossEntropy)
        .with_label_smoothing(args.label_smoothing)
        .with_mixup_cutmix(args.mixup_alpha, args.cutmix_alpha)
        .with_checkpoint_dir(&pt_dir)
        .with_tensorboard(&tb_dir)
        .with_resume(args.resume.is_some())
        .with_amp(!args.disable_amp);
    if let Some(w) = warmup {
        fit = fit.with_warmup(w);
    }
    if args.model_ema {
        let decay = ModelEma::adjusted_decay(
            args.model_ema_decay,
            args.world_size,
            args.batch_size,
            args.model_ema_steps,
            args.epochs,
        );
        fit = fit.with_model_ema(args.model_ema_steps, decay);
    }
    if let Some(max) = args.clip_grad_norm {
        fit = fit.with_clip_grad_norm(max);
    }
    let train_forward = |net: &mut dyn Module, x: &Tensor| -> Result<Tensor> {
        let x = trainer.preprocess_train_sample(args, x)?;
        trainer.process_model_output(args, net.forward(&x)?)
    };
    let test_forward = |net: &mut dyn Module, x: &Tensor| -> Result<Tensor> {
        let x = trainer.preprocess_test_sample(args, x)?;
        trainer.process_model_output(args, net.forward(&x)?)
    };
    if args.test_only {
        let mut test_forward = test_forward;
        let m = fit.evaluate(net.as_mut(), &data.test, &mut test_forward)?;
        println!(
            "Test: Acc@1 {:.3} Acc@5 {:.3} loss {:.4}",
            m.acc * 100.0,
            m.acc5 * 100.0,
            m.loss
        );
        return Ok(TrainLog::default());
    }
    std::fs::create_dir_all(&tb_dir).map_err(|source| SjError::Io {
        path: tb_dir.display().to_string(),
        source,
    })?;
    save_json(tb_dir.join("args.json"), args)?;
    fit.fit_with(
        net.as_mut(),
        &vs,
        optimizer.as_mut(),
        &data.train,
        &data.test,
        train_forward,
        test_forward,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::training::read_scalars;

    fn parse(argv: &[&str]) -> Result<TrainArgs> {
        parse_args(&get_args_parser(), argv)?.expect("no -h")
    }

    #[test]
    fn flags_defaults_help_and_logdir_name_are_spikingjellys() {
        let a = parse(&[]).unwrap();
        assert_eq!(
            (a.batch_size, a.epochs, a.workers, a.lr, a.momentum),
            (32, 90, 16, 0.1, 0.9)
        );
        assert_eq!(
            (a.label_smoothing, a.mixup_alpha, a.cutmix_alpha),
            (0.1, 0.2, 1.0)
        );
        assert_eq!(
            (
                a.lr_scheduler.as_str(),
                a.lr_warmup_epochs,
                a.lr_warmup_decay
            ),
            ("cosa", 5, 0.01)
        );
        assert_eq!(
            (a.model_ema_steps, a.model_ema_decay, a.seed, a.t),
            (32, 0.99998, 2020, 4)
        );
        assert_eq!(
            (a.weight_decay, a.clip_grad_norm, a.resume.as_deref()),
            (0.0, None, None)
        );
        // Python: f"{args.model}_b{args.batch_size}_e{args.epochs}_..." with SResNetTrainer's _T4
        assert_eq!(
            SResNetTrainer.get_tb_logdir_name(&a),
            "spiking_resnet18_b32_e90_sgd_lr0.1_wd0.0_ls0.1_ma0.2_ca1.0_sbn0_ra0_re0.1_aaugta_wide_size176_232_224_seed2020_T4"
        );
        let b = parse(&[
            "--wd",
            "1e-5",
            "-b",
            "64",
            "--ra-sampler",
            "--sync-bn",
            "--lr",
            "2",
        ])
        .unwrap();
        assert!(
            tb_logdir_name(&b).contains("_b64_e90_sgd_lr2.0_wd1e-05_")
                && tb_logdir_name(&b).contains("_sbn1_ra4_")
        );
        let help = match parse_args(&get_args_parser(), ["-h"]).unwrap() {
            Parsed::Help(h) => h,
            p => panic!("{p:?}"),
        };
        for f in [
            "--lr-warmup-method",
            "--model-ema-decay",
            "--clip-grad-norm",
            "--wd",
            "--T",
            "--cupy",
        ] {
            assert!(help.contains(f), "{f} missing from\n{help}");
        }
        let e = parse(&["--lrr", "0.1"]).unwrap_err().to_string();
        assert!(e.contains("--lrr"), "{e}");
        let e = parse(&["--lr", "fast"]).unwrap_err().to_string();
        assert!(e.contains("fast") && e.contains("--lr"), "{e}");
        assert!(parse(&["--cnf", "OR"]).is_err());
        // A flag a user adds (the seed's get_args_parser example) comes back in `extra`.
        let parser =
            get_args_parser().arg(Arg::new("dropout").long("dropout").default_value("0.5"));
        let c = parse_args(&parser, ["--dropout", "0.2"])
            .unwrap()
            .expect("args")
            .unwrap();
        assert_eq!(c.extra.get("dropout").map(String::as_str), Some("0.2"));
    }

    #[test]
    fn optimizers_and_schedules_by_name() {
        let vs = nn::VarStore::new(Device::Cpu);
        let _w = vs.root().zeros("w", &[2]);
        for (opt, name) in [
            ("sgd", "SGD"),
            ("sgd_nesterov", "SGD"),
            ("rmsprop", "RMSprop"),
            ("adamw", "AdamW"),
            ("adam", "Adam"),
        ] {
            let a = parse(&["--opt", opt]).unwrap();
            assert_eq!(set_optimizer(&a, &vs).unwrap().type_name(), name);
        }
        let e = set_optimizer(&parse(&["--opt", "adamax"]).unwrap(), &vs)
            .err()
            .unwrap()
            .to_string();
        assert!(e.contains("Invalid optimizer adamax"), "{e}");
        let (main, warmup) = set_lr_scheduler(&parse(&["--epochs", "20"]).unwrap()).unwrap();
        assert_eq!(main, LrSchedule::cosine(15).unwrap());
        assert_eq!(
            warmup.map(|w| (w.method, w.epochs, w.decay)),
            Some((WarmupMethod::Linear, 5, 0.01))
        );
        let (main, warmup) = set_lr_scheduler(
            &parse(&["--lr-scheduler", "step", "--lr-warmup-epochs", "0"]).unwrap(),
        )
        .unwrap();
        assert_eq!((main, warmup), (LrSchedule::step(30, 0.1).unwrap(), None));
        assert!(set_lr_scheduler(&parse(&["--lr-scheduler", "poly"]).unwrap()).is_err());
        assert!(set_lr_scheduler(&parse(&["--lr-warmup-method", "cubic"]).unwrap()).is_err());
    }

    /// A CIFAR-10 binary folder of `n` training and `n / 2` test records (the brightest of four
    /// quadrant patterns is the label, classes 0..4 of 10).
    fn tiny_cifar(dir: &std::path::Path, n: usize) {
        let bin = dir.join("cifar-10-batches-bin");
        std::fs::create_dir_all(&bin).unwrap();
        let mut rng = sj_datasets::shuffle::SplitMix64::new(3);
        let mut record = |label: u8| {
            let mut r = vec![label];
            for c in 0..3 {
                for y in 0..32 {
                    for x in 0..32 {
                        let quadrant = (y / 16) * 2 + x / 16;
                        let base = if quadrant == label as usize { 150 } else { 20 };
                        r.push((base + rng.below(80) + c) as u8);
                    }
                }
            }
            r
        };
        let mut file = |name: &str, count: usize| {
            let bytes: Vec<u8> = (0..count).flat_map(|i| record((i % 4) as u8)).collect();
            std::fs::write(bin.join(name), bytes).unwrap();
        };
        for i in 1..=5 {
            file(&format!("data_batch_{i}.bin"), n / 5);
        }
        file("test_batch.bin", n / 2);
    }

    #[test]
    fn main_trains_writes_the_run_folder_and_resumes() {
        let dir = std::env::temp_dir().join(format!("sj-train-classify-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        tiny_cifar(&dir.join("data"), 40);
        let argv = |epochs: &str| {
            vec![
                "--model",
                "sew_resnet18",
                "--dataset",
                "cifar10",
                "--T",
                "2",
                "-b",
                "8",
                "--epochs",
                epochs,
                "--lr",
                "0.05",
                "--lr-warmup-epochs",
                "1",
                "--model-ema",
                "--model-ema-steps",
                "2",
                "--clip-grad-norm",
                "1.0",
                "--device",
                "cpu",
                "-j",
                "0",
            ]
            .into_iter()
            .map(String::from)
            .chain(["--data-path".into(), dir.join("data").display().to_string()])
            .chain([
                "--output-dir".into(),
                dir.join("logs").display().to_string(),
            ])
            .collect::<Vec<String>>()
        };
        let args = parse_args(&get_args_parser(), argv("2"))
            .unwrap()
            .expect("args")
            .unwrap();
        let log = main(&SResNetTrainer, &args).unwrap();
        assert_eq!(log.epochs.len(), 2);
        let name = SResNetTrainer.get_tb_logdir_name(&args);
        let (tb, pt) = (
            dir.join("logs").join(&name),
            dir.join("logs/pt").join(&name),
        );
        assert!(pt.join("checkpoint_latest.safetensors").is_file() && pt.join("log.csv").is_file());
        let saved: TrainArgs =
            serde_json::from_str(&std::fs::read_to_string(tb.join("args.json")).unwrap()).unwrap();
        assert_eq!(saved, args);
        let events: Vec<_> = std::fs::read_dir(&tb)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| {
                p.file_name()
                    .unwrap()
                    .to_string_lossy()
                    .starts_with("events.out.tfevents.")
            })
            .collect();
        assert_eq!(events.len(), 1);
        let scalars = read_scalars(&events[0]).unwrap();
        let tags: std::collections::BTreeSet<&str> = scalars.iter().map(|s| s.0.as_str()).collect();
        assert!(
            tags.contains("test_acc5") && tags.contains("ema_test_acc1"),
            "{tags:?}"
        );
        // Resume to 3 epochs from that checkpoint (the epochs are part of the run's name, so
        // this is another folder): the first two come from the checkpoint.
        let file = pt
            .join("checkpoint_latest.safetensors")
            .display()
            .to_string();
        let more = parse_args(
            &get_args_parser(),
            argv("3").into_iter().chain(["--resume".into(), file]),
        )
        .unwrap()
        .expect("args")
        .unwrap();
        let log3 = main(&SResNetTrainer, &more).unwrap();
        assert_eq!(log3.epochs.len(), 3);
        assert_eq!(log3.epochs[..2], log.epochs[..]);
        let again = parse_args(
            &get_args_parser(),
            argv("3")
                .into_iter()
                .chain(["--resume".into(), "latest".into()]),
        );
        assert_eq!(
            main(&SResNetTrainer, &again.unwrap().expect("args").unwrap()).unwrap(),
            log3,
            "nothing left to train"
        );
        let mut missing = more.clone();
        missing.resume = Some(dir.join("none.safetensors").display().to_string());
        assert!(main(&SResNetTrainer, &missing)
            .unwrap_err()
            .to_string()
            .contains("none.safetensors"));
        // Bad input: an unknown model, names the zoo.
        let mut bad = args.clone();
        bad.model = "resnet18".into();
        let e = main(&SResNetTrainer, &bad).unwrap_err().to_string();
        assert!(
            e.contains("unknown model 'resnet18'") && e.contains("sew_resnet18"),
            "{e}"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
