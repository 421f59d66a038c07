//! `Trainer`: the train/test epoch loop of SpikingJelly's examples (`lif_fc_mnist`,
//! `conv_fashion_mnist`): loss on the output firing rate, accuracy, `reset_net` after every
//! batch, an lr schedule, checkpoints (`checkpoint_latest`, `checkpoint_max`) and resume.
//!
//! Reproducibility: the data order of epoch `e` comes from the loaders' seeds, and libtorch's
//! global RNG is re-seeded at the start of every epoch from `(seed, e)`. With the optimizer state
//! in the checkpoint, a run resumed at epoch `e` is bitwise the run that never stopped (on CPU).
use super::checkpoint::Checkpoint;
use super::log::{EpochRecord, TrainLog};
use super::optim::Optimizer;
use super::regularize::{clip_grad_norm, GradScaler, Mix, ModelEma};
use super::schedule::{LrSchedule, Warmup};
use super::tensorboard::SummaryWriter;
use crate::base::Module;
use crate::error::{Result, SjError};
use crate::functional::{reset_net, set_training};
use crate::progress::{Progress, ProgressOutput};
use sj_datasets::shuffle::{derive_seed, SplitMix64};
use sj_datasets::DataLoader;
use sj_kernels::autocast::AutocastGuard;
use std::path::PathBuf;
use std::time::Instant;
use tch::{nn, Device, Kind, Reduction, Tensor};

/// The loss between the network's output `[N, C]` and the labels.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Loss {
    /// `mse_loss(out_fr, one_hot(label, C))`, the loss of SpikingJelly's tutorials.
    #[default]
    Mse,
    /// `cross_entropy(out, label)` on the outputs as logits.
    CrossEntropy,
}

impl Loss {
    /// The mean loss of a batch: `out` is `[N, C]` floating-point scores (N >= 1), `labels` `[N]`
    /// int64 class indices in `0..C` (checked first: on CUDA a bad index would be a device assert).
    pub fn compute(&self, out: &Tensor, labels: &Tensor) -> Result<Tensor> {
        self.compute_with(out, labels, None, 0.0)
    }

    /// Checks that `out` is `[N, classes]` floating-point scores (N >= 1) for int64 `labels` `[N]`
    /// in `0..classes` (first: on CUDA a bad index would be a device assert).
    pub fn check(out: &Tensor, labels: &Tensor) -> Result<()> {
        let size = out.size();
        if size.len() != 2 || labels.size() != [size[0]] || !out.is_floating_point() {
            return Err(SjError::Shape {
                module: "Trainer".into(),
                expected: format!("a float output [N, classes] for labels {:?} (the forward function returns scores per class)", labels.size()),
                got: size,
            });
        }
        let err = |e: tch::TchError| SjError::config("Trainer", format!("labels: {e}"));
        if labels.kind() != Kind::Int64 {
            return Err(SjError::Input {
                module: "Trainer".into(),
                expected: "int64 class labels".into(),
                got: format!("{:?}", labels.kind()),
            });
        }
        if size[0] == 0 {
            return Err(SjError::config(
                "Trainer",
                "an empty batch (N = 0) has no mean loss",
            ));
        }
        let (lo, hi) = (
            labels.f_min().map_err(err)?.int64_value(&[]),
            labels.f_max().map_err(err)?.int64_value(&[]),
        );
        if lo < 0 || hi >= size[1] {
            return Err(SjError::Input {
                module: "Trainer".into(),
                expected: format!("labels in 0..{} (the output's classes)", size[1]),
                got: format!("labels in {lo}..={hi}"),
            });
        }
        Ok(())
    }

    /// [`Loss::compute`] against soft targets `[N, C]` (class probabilities, e.g. after mixup)
    /// when given, with `label_smoothing` ε: the target becomes `(1 − ε)·target + ε/C`, as
    /// `cross_entropy(..., label_smoothing=ε)` does (applied to the MSE target likewise).
    pub fn compute_with(
        &self,
        out: &Tensor,
        labels: &Tensor,
        soft: Option<&Tensor>,
        label_smoothing: f64,
    ) -> Result<Tensor> {
        Self::check(out, labels)?;
        let size = out.size();
        let err = |e: tch::TchError| SjError::config("Trainer", format!("loss: {e}"));
        if !(0.0..1.0).contains(&label_smoothing) {
            return Err(SjError::config(
                "Trainer",
                format!("label_smoothing must be in [0, 1), got {label_smoothing}"),
            ));
        }
        if let Some(soft) = soft.filter(|t| t.size() != size) {
            return Err(SjError::Shape {
                module: "Trainer".into(),
                expected: format!("soft targets shaped like the output {size:?}"),
                got: soft.size(),
            });
        }
        if let (Loss::CrossEntropy, None) = (self, soft) {
            return out
                .f_cross_entropy_loss::<Tensor>(
                    labels,
                    None,
                    Reduction::Mean,
                    -100,
                    label_smoothing,
                )
                .map_err(err);
        }
        let mut target = match soft {
            Some(t) => t.f_to_kind(out.kind()).map_err(err)?,
            None => labels.f_one_hot(size[1]).map_err(err)?.to_kind(out.kind()),
        };
        if label_smoothing > 0.0 {
            target = target * (1.0 - label_smoothing) + label_smoothing / size[1] as f64;
        }
        match self {
            Loss::Mse => out.f_mse_loss(&target, Reduction::Mean).map_err(err),
            Loss::CrossEntropy => out
                .f_cross_entropy_loss::<Tensor>(&target, None, Reduction::Mean, -100, 0.0)
                .map_err(err),
        }
    }
}

/// Loss, accuracy and throughput of one pass over a loader.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct EpochMetrics {
    /// Mean loss per sample.
    pub loss: f64,
    /// Fraction of samples whose largest output is the label (`Acc@1`).
    pub acc: f64,
    /// Fraction of samples whose label is among the five largest outputs (`Acc@5`).
    pub acc5: f64,
    /// Samples per second.
    pub speed: f64,
    /// Samples seen.
    pub samples: usize,
}

/// Sums a pass's loss and correct predictions.
#[derive(Default)]
struct Tally {
    loss: f64,
    correct: i64,
    correct5: i64,
    samples: usize,
}

impl Tally {
    fn add(&mut self, loss: &Tensor, out: &Tensor, labels: &Tensor) -> Result<()> {
        let n = labels.size()[0];
        self.loss += loss.double_value(&[]) * n as f64;
        let k = out.size()[1].min(5);
        let (_, top) = out.f_topk(k, 1, true, true)?;
        let hits = top.f_eq_tensor(&labels.unsqueeze(1))?;
        self.correct += hits.f_select(1, 0)?.f_sum(Kind::Int64)?.int64_value(&[]);
        self.correct5 += hits.f_sum(Kind::Int64)?.int64_value(&[]);
        self.samples += n as usize;
        Ok(())
    }

    /// The pass's metrics; errors when it saw no sample (its loss and accuracy would be 0/0).
    fn finish(&self, start: Instant, pass: &str) -> Result<EpochMetrics> {
        if self.samples == 0 {
            return Err(SjError::config(
                "Trainer",
                format!("the {pass} pass saw no samples: its loader is empty, or with_max_batches(0) was set"),
            ));
        }
        let n = self.samples as f64;
        Ok(EpochMetrics {
            loss: self.loss / n,
            acc: self.correct as f64 / n,
            acc5: self.correct5 as f64 / n,
            speed: n / start.elapsed().as_secs_f64(),
            samples: self.samples,
        })
    }
}

/// What one optimizer step touches besides the network.
struct StepContext<'a> {
    vs: &'a nn::VarStore,
    optimizer: &'a mut dyn Optimizer,
    ema: Option<&'a mut ModelEma>,
    epoch: usize,
}

/// The training loop. `forward(net, x)` turns a batch into class scores `[N, C]` (for SNNs the
/// firing rate: encode, run T steps, average), so one trainer serves every example.
///
/// Its configuration is `Serialize + Deserialize` (the run record `run.json`).
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Trainer {
    epochs: usize,
    seed: u64,
    schedule: LrSchedule,
    loss: Loss,
    checkpoint_dir: Option<PathBuf>,
    resume: bool,
    max_batches: Option<usize>,
    progress: ProgressOutput,
    #[serde(default)]
    warmup: Option<Warmup>,
    #[serde(default)]
    label_smoothing: f64,
    #[serde(default)]
    mixup_alpha: f64,
    #[serde(default)]
    cutmix_alpha: f64,
    /// `(steps, decay)` of the model EMA.
    #[serde(default)]
    model_ema: Option<(usize, f64)>,
    #[serde(default)]
    clip_grad_norm: Option<f64>,
    #[serde(default)]
    tensorboard_dir: Option<PathBuf>,
    #[serde(default)]
    amp: bool,
}

impl Trainer {
    /// Trains for `epochs` epochs with seed 0, a constant lr, the MSE loss, no checkpoints and
    /// progress shown where [`ProgressOutput::detect`] says.
    pub fn new(epochs: usize) -> Self {
        Trainer {
            epochs,
            seed: 0,
            schedule: LrSchedule::Constant,
            loss: Loss::Mse,
            checkpoint_dir: None,
            resume: false,
            max_batches: None,
            progress: ProgressOutput::detect(),
            warmup: None,
            label_smoothing: 0.0,
            mixup_alpha: 0.0,
            cutmix_alpha: 0.0,
            model_ema: None,
            clip_grad_norm: None,
            tensorboard_dir: None,
            amp: false,
        }
    }

    /// Automatic mixed precision for the training forward pass and loss (SpikingJelly's default,
    /// off with `--disable-amp`): libtorch's autocast in bfloat16 on the CPU (convolutions and
    /// matrix products; several times faster on CPUs with AVX512-BF16), in float16 on CUDA with
    /// dynamic loss scaling ([`GradScaler`]). Parameters, optimizer state and the loss stay
    /// float32; testing runs in float32.
    pub fn with_amp(mut self, amp: bool) -> Self {
        self.amp = amp;
        self
    }

    /// A warm-up before the schedule (SpikingJelly's `--lr-warmup-*`).
    pub fn with_warmup(mut self, warmup: Warmup) -> Self {
        self.warmup = Some(warmup);
        self
    }

    /// `--label-smoothing` ε in [0, 1) for the loss (see [`Loss::compute_with`]).
    pub fn with_label_smoothing(mut self, label_smoothing: f64) -> Self {
        self.label_smoothing = label_smoothing;
        self
    }

    /// `--mixup-alpha` and `--cutmix-alpha`: every training batch gets mixup or cutmix (one of
    /// the two at random when both are positive), see [`Mix`]. Its accuracy counts the label of
    /// the larger mixing weight.
    pub fn with_mixup_cutmix(mut self, mixup_alpha: f64, cutmix_alpha: f64) -> Self {
        self.mixup_alpha = mixup_alpha;
        self.cutmix_alpha = cutmix_alpha;
        self
    }

    /// `--model-ema`: an average of the weights updated every `steps` steps with `decay` (already
    /// adjusted, see [`ModelEma::adjusted_decay`]), tested after every epoch and kept in the
    /// checkpoints.
    pub fn with_model_ema(mut self, steps: usize, decay: f64) -> Self {
        self.model_ema = Some((steps, decay));
        self
    }

    /// `--clip-grad-norm`: gradients are scaled to at most this total 2-norm before each step.
    pub fn with_clip_grad_norm(mut self, max_norm: f64) -> Self {
        self.clip_grad_norm = Some(max_norm);
        self
    }

    /// Writes TensorBoard scalars (`train_loss`, `train_acc1`, `train_acc5`, `test_loss`,
    /// `test_acc1`, `test_acc5`, and `ema_test_*` with a model EMA) per epoch to a tfevents file in
    /// `dir`, as SpikingJelly's Trainer does.
    pub fn with_tensorboard(mut self, dir: impl Into<PathBuf>) -> Self {
        self.tensorboard_dir = Some(dir.into());
        self
    }

    /// Checks the options that are plain numbers.
    fn check(&self) -> Result<()> {
        let bad = |what: String| Err(SjError::config("Trainer", what));
        if !(0.0..1.0).contains(&self.label_smoothing) {
            return bad(format!(
                "label_smoothing must be in [0, 1), got {}",
                self.label_smoothing
            ));
        }
        let alpha_ok = |a: f64| a.is_finite() && a >= 0.0;
        if !(alpha_ok(self.mixup_alpha) && alpha_ok(self.cutmix_alpha)) {
            return bad(format!(
                "mixup and cutmix alphas must be finite and >= 0, got {} and {}",
                self.mixup_alpha, self.cutmix_alpha
            ));
        }
        if let Some(max) = self.clip_grad_norm.filter(|m| !(m.is_finite() && *m > 0.0)) {
            return bad(format!("clip_grad_norm must be finite and > 0, got {max}"));
        }
        Ok(())
    }

    /// The learning rate of `epoch` for base rate `base_lr` (warm-up, then the schedule).
    pub fn lr(&self, base_lr: f64, epoch: usize) -> Result<f64> {
        match &self.warmup {
            Some(w) => w.lr(&self.schedule, base_lr, epoch),
            None => self.schedule.lr(base_lr, epoch),
        }
    }

    /// The seed of libtorch's RNG (re-seeded every epoch from it).
    pub fn with_seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// The learning-rate schedule (applied to the optimizer's lr at the start of `fit`).
    pub fn with_schedule(mut self, schedule: LrSchedule) -> Self {
        self.schedule = schedule;
        self
    }

    /// The loss.
    pub fn with_loss(mut self, loss: Loss) -> Self {
        self.loss = loss;
        self
    }

    /// Saves `checkpoint_latest.safetensors` after every epoch and `checkpoint_max.safetensors`
    /// when the test accuracy improves, in `dir` (created if needed), and the log of every epoch
    /// so far as `log.csv` and `log.parquet` (see [`TrainLog::save_csv`]).
    pub fn with_checkpoint_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.checkpoint_dir = Some(dir.into());
        self
    }

    /// Resume from `checkpoint_latest.safetensors` in the checkpoint directory when it exists.
    pub fn with_resume(mut self, resume: bool) -> Self {
        self.resume = resume;
        self
    }

    /// At most `batches` training batches per epoch (quick runs); 0 makes `fit` an error.
    pub fn with_max_batches(mut self, batches: usize) -> Self {
        self.max_batches = Some(batches);
        self
    }

    /// How progress shows: `Terminal` draws epoch and batch bars (and prints a summary line per
    /// epoch), `Lines` prints only the summary line of every epoch, `Hidden` prints nothing.
    pub fn with_progress(mut self, output: ProgressOutput) -> Self {
        self.progress = output;
        self
    }

    /// The path of checkpoint `name` (`"latest"` or `"max"`), when checkpoints are on.
    pub fn checkpoint_path(&self, name: &str) -> Option<PathBuf> {
        self.checkpoint_dir
            .as_ref()
            .map(|d| d.join(format!("checkpoint_{name}.safetensors")))
    }

    /// Trains `net` (whose variables live in `vs`) with `optimizer`, testing after every epoch,
    /// and returns the log of every epoch (those before a resume too).
    pub fn fit<F>(
        &self,
        net: &mut dyn Module,
        vs: &nn::VarStore,
        optimizer: &mut dyn Optimizer,
        train: &DataLoader,
        test: &DataLoader,
        mut forward: F,
    ) -> Result<TrainLog>
    where
        F: FnMut(&mut dyn Module, &Tensor) -> Result<Tensor>,
    {
        let forward = std::cell::RefCell::new(&mut forward);
        self.fit_with(
            net,
            vs,
            optimizer,
            train,
            test,
            |net, x| (*forward.borrow_mut())(net, x),
            |net, x| (*forward.borrow_mut())(net, x),
        )
    }

    /// [`Trainer::fit`] with one forward for training batches and another for test batches
    /// (SpikingJelly's `preprocess_train_sample` / `preprocess_test_sample`).
    #[allow(clippy::too_many_arguments)]
    pub fn fit_with<F, G>(
        &self,
        net: &mut dyn Module,
        vs: &nn::VarStore,
        optimizer: &mut dyn Optimizer,
        train: &DataLoader,
        test: &DataLoader,
        mut train_forward: F,
        mut test_forward: G,
    ) -> Result<TrainLog>
    where
        F: FnMut(&mut dyn Module, &Tensor) -> Result<Tensor>,
        G: FnMut(&mut dyn Module, &Tensor) -> Result<Tensor>,
    {
        let base_lr = optimizer.lr();
        let loaders = (train, test);
        let result = self.run(
            net,
            vs,
            optimizer,
            loaders,
            &mut train_forward,
            &mut test_forward,
        );
        // The scheduled rates are per epoch; the optimizer leaves with its own rate, even on errors.
        optimizer.set_lr(base_lr)?;
        result
    }

    /// The epochs of [`Trainer::fit_with`], from the checkpoint to resume (if any) on, with the
    /// schedule applied to the optimizer's rate at the start.
    fn run<F, G>(
        &self,
        net: &mut dyn Module,
        vs: &nn::VarStore,
        optimizer: &mut dyn Optimizer,
        (train, test): (&DataLoader, &DataLoader),
        forward: &mut F,
        test_forward: &mut G,
    ) -> Result<TrainLog>
    where
        F: FnMut(&mut dyn Module, &Tensor) -> Result<Tensor>,
        G: FnMut(&mut dyn Module, &Tensor) -> Result<Tensor>,
    {
        self.check()?;
        let base_lr = optimizer.lr();
        let mut state = Checkpoint {
            epoch: 0,
            max_test_acc: 0.0,
            log: TrainLog::default(),
        };
        let mut ema = match self.model_ema {
            Some((steps, decay)) => Some(ModelEma::new(vs, steps, decay)?),
            None => None,
        };
        if let Some(latest) = self
            .checkpoint_path("latest")
            .filter(|p| self.resume && p.is_file())
        {
            state = Checkpoint::load(&latest, vs, optimizer, ema.as_mut())?;
        }
        let mut board = match &self.tensorboard_dir {
            Some(dir) => Some(SummaryWriter::new(dir)?),
            None => None,
        };
        if let Some(dir) = &self.checkpoint_dir {
            std::fs::create_dir_all(dir).map_err(|source| SjError::Io {
                path: dir.display().to_string(),
                source,
            })?;
        }
        // Bars only in a terminal; elsewhere (notebooks, logs) one summary line per epoch.
        let bars = if self.progress == ProgressOutput::Terminal {
            ProgressOutput::Terminal
        } else {
            ProgressOutput::Hidden
        };
        let mut epochs = Progress::new("epoch", self.epochs as u64).with_output(bars);
        epochs.inc(state.epoch.min(self.epochs) as u64, &[]);
        for epoch in state.epoch..self.epochs {
            tch::manual_seed(derive_seed(self.seed, epoch as u64) as i64);
            let lr = self.lr(base_lr, epoch)?;
            optimizer.set_lr(lr)?;
            let batches = self.max_batches.map_or(train.len(), |m| m.min(train.len()));
            let mut progress = epochs.child("train", batches as u64);
            let mut step = StepContext {
                vs,
                optimizer: &mut *optimizer,
                ema: ema.as_mut(),
                epoch,
            };
            let tr = self.train_epoch(net, &mut step, train, forward, &mut progress)?;
            progress.finish();
            let te = self.evaluate(net, test, test_forward)?;
            let ema_te = match ema.as_mut() {
                Some(e) => {
                    e.swap(vs)?;
                    let metrics = self.evaluate(net, test, test_forward);
                    e.swap(vs)?;
                    Some(metrics?)
                }
                None => None,
            };
            if let Some(board) = board.as_mut() {
                let step = epoch as i64;
                for (tag, value) in [
                    ("train_loss", tr.loss),
                    ("train_acc1", tr.acc),
                    ("train_acc5", tr.acc5),
                    ("test_loss", te.loss),
                    ("test_acc1", te.acc),
                    ("test_acc5", te.acc5),
                ] {
                    board.add_scalar(tag, value, step)?;
                }
                if let Some(e) = ema_te {
                    board.add_scalar("ema_test_loss", e.loss, step)?;
                    board.add_scalar("ema_test_acc1", e.acc, step)?;
                    board.add_scalar("ema_test_acc5", e.acc5, step)?;
                }
                board.flush()?;
            }
            let record = EpochRecord {
                epoch,
                lr,
                train_loss: tr.loss,
                train_acc: tr.acc,
                test_loss: te.loss,
                test_acc: te.acc,
                train_speed: tr.speed,
                test_speed: te.speed,
                train_acc5: tr.acc5,
                test_acc5: te.acc5,
            };
            state.log.epochs.push(record);
            state.epoch = epoch + 1;
            let improved = te.acc > state.max_test_acc;
            state.max_test_acc = state.max_test_acc.max(te.acc);
            if let Some(latest) = self.checkpoint_path("latest") {
                state.save(&latest, vs, optimizer, ema.as_ref())?;
            }
            if let Some(max) = self.checkpoint_path("max").filter(|_| improved) {
                state.save(&max, vs, optimizer, ema.as_ref())?;
            }
            if let Some(dir) = &self.checkpoint_dir {
                state.log.save_csv(dir.join("log.csv"))?;
                state.log.save_parquet(dir.join("log.parquet"))?;
            }
            epochs.tick(&[]);
            if self.progress != ProgressOutput::Hidden {
                println!(
                    "epoch {epoch}: lr {lr:.4e}, train_loss {:.4}, train_acc {:.4}, test_loss {:.4}, test_acc {:.4}, \
                     max_test_acc {:.4}, train {:.1} samples/s, test {:.1} samples/s{}",
                    tr.loss, tr.acc, te.loss, te.acc, state.max_test_acc, tr.speed, te.speed,
                    ema_te.map_or(String::new(), |e| format!(", ema_test_acc {:.4}", e.acc))
                );
            }
        }
        epochs.finish();
        Ok(state.log)
    }

    fn train_epoch<F>(
        &self,
        net: &mut dyn Module,
        step: &mut StepContext,
        train: &DataLoader,
        forward: &mut F,
        progress: &mut Progress,
    ) -> Result<EpochMetrics>
    where
        F: FnMut(&mut dyn Module, &Tensor) -> Result<Tensor>,
    {
        set_training(net, true);
        let start = Instant::now();
        let mut tally = Tally::default();
        let in_warmup = self.warmup.is_some_and(|w| step.epoch < w.epochs);
        let mix_seed = derive_seed(derive_seed(self.seed, step.epoch as u64), u64::MAX);
        let mut scaler: Option<GradScaler> = None;
        for (i, batch) in train
            .iter(step.epoch)
            .take(self.max_batches.unwrap_or(usize::MAX))
            .enumerate()
        {
            let (x, y) = batch?;
            let mut rng = SplitMix64::new(derive_seed(mix_seed, i as u64));
            let size = x.size();
            let (h, w) = match size.len() {
                0..=2 => (1, 1),
                d => (size[d - 2], size[d - 1]),
            };
            let mix = Mix::draw(&mut rng, self.mixup_alpha, self.cutmix_alpha, h, w);
            step.optimizer.zero_grad();
            let x = match &mix {
                Some(m) => m.mix_images(&x)?,
                None => x,
            };
            let (autocast, scale) = match (self.amp, x.device()) {
                (false, _) => (None, None),
                (true, Device::Cpu) => (Some((Device::Cpu, Kind::BFloat16)), None),
                (true, d) => (
                    Some((d, Kind::Half)),
                    Some(scaler.get_or_insert_with(GradScaler::default)),
                ),
            };
            let guard = autocast
                .map(|(d, k)| AutocastGuard::new(d, k))
                .transpose()
                .map_err(|e| SjError::kernel("Trainer", e))?;
            let out = forward(net, &x);
            drop(guard);
            // Reset even when the forward pass failed, so the network is usable afterwards.
            let out = out.inspect_err(|_| reset_net(net))?;
            // The loss in float32 (what autocast does for its float32 ops).
            let out = if self.amp {
                out.f_to_kind(Kind::Float)?
            } else {
                out
            };
            let soft = match &mix {
                Some(m) => {
                    Loss::check(&out, &y)?;
                    let onehot = y.f_one_hot(out.size()[1])?;
                    Some(m.mix_targets(&onehot.to_kind(out.kind()), h, w)?)
                }
                None => None,
            };
            let loss = self
                .loss
                .compute_with(&out, &y, soft.as_ref(), self.label_smoothing)?;
            let scaled = match &scale {
                Some(s) => &loss * s.scale(),
                None => loss.shallow_clone(),
            };
            scaled
                .f_backward()
                .map_err(|e| SjError::config("Trainer", format!("backward: {e}")))?;
            let finite = match scale {
                Some(s) => s.unscale(step.vs)?,
                None => true,
            };
            if let Some(max_norm) = self.clip_grad_norm.filter(|_| finite) {
                clip_grad_norm(step.vs, max_norm)?;
            }
            if finite {
                step.optimizer.step()?;
            }
            reset_net(net);
            if let Some(ema) = step.ema.as_deref_mut() {
                ema.after_step(step.vs, i + 1, in_warmup)?;
            }
            // With mixed targets the accuracy counts the label of the larger weight.
            let labels = match &soft {
                Some(t) => t.f_argmax(1, false)?,
                None => y.shallow_clone(),
            };
            tally.add(&loss, &out, &labels)?;
            progress.tick(&[("loss", loss.double_value(&[]))]);
        }
        tally.finish(start, "training")
    }

    /// Loss and accuracy over `loader` (epoch 0's order) without gradients, in eval mode.
    pub fn evaluate<F>(
        &self,
        net: &mut dyn Module,
        loader: &DataLoader,
        forward: &mut F,
    ) -> Result<EpochMetrics>
    where
        F: FnMut(&mut dyn Module, &Tensor) -> Result<Tensor>,
    {
        set_training(net, false);
        let start = Instant::now();
        let mut tally = Tally::default();
        let result = tch::no_grad(|| -> Result<()> {
            for batch in loader.iter(0) {
                let (x, y) = batch?;
                let out = forward(net, &x);
                reset_net(net);
                let out = out?;
                tally.add(&self.loss.compute(&out, &y)?, &out, &y)?;
            }
            Ok(())
        });
        set_training(net, true);
        result?;
        tally.finish(start, "test")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::base::StepMode;
    use crate::encoding::PoissonEncoder;
    use crate::functional::set_step_mode;
    use crate::layer::{Flatten, Linear, Sequential};
    use crate::neuron::LIFNode;
    use crate::training::optim::{Adam, SGD};
    use crate::training::test_values;
    use sj_datasets::shuffle::SplitMix64;
    use sj_datasets::{ImageDataset, ToTensor};
    use tch::Device;

    /// 96 random 4x4 images; the label says which quarter (top-left, top-right, bottom) is brightest.
    fn quarters(seed: u64, n: usize) -> ImageDataset {
        let mut rng = SplitMix64::new(seed);
        let mut pixels = Vec::new();
        let mut labels = Vec::new();
        for _ in 0..n {
            let class = rng.below(3);
            for k in 0..16 {
                let (r, c) = (k / 4, k % 4);
                let region = if r >= 2 { 2 } else { c / 2 };
                let base = if region == class { 160 } else { 0 };
                pixels.push((base + rng.below(96)) as u8);
            }
            labels.push(class as i64);
        }
        ImageDataset::new(
            "quarters",
            pixels,
            [1, 4, 4],
            labels,
            vec!["a".into(), "b".into(), "c".into()],
        )
        .unwrap()
    }

    fn net(vs: &nn::VarStore) -> Sequential {
        let mut net = Sequential::new()
            .add(Flatten::new())
            .add(Linear::new(&(vs.root() / "1"), 16, 3, false).unwrap())
            .add(LIFNode::new(2.0).unwrap());
        set_step_mode(&mut net, StepMode::M).unwrap();
        net
    }

    /// Poisson-encoded input over T = 4 steps, the output firing rate.
    fn forward(net: &mut dyn Module, x: &Tensor) -> Result<Tensor> {
        let x_seq = x.unsqueeze(0).repeat([4, 1, 1, 1, 1]);
        let spikes = PoissonEncoder::new()
            .with_step_mode(StepMode::M)
            .forward(&x_seq)?;
        Ok(net.forward(&spikes)?.mean_dim(0, false, Kind::Float))
    }

    fn loaders() -> (DataLoader, DataLoader) {
        let train = DataLoader::new(quarters(1, 96), 16)
            .unwrap()
            .with_shuffle(3)
            .with_transform(ToTensor);
        let test = DataLoader::new(quarters(2, 48), 16)
            .unwrap()
            .with_transform(ToTensor);
        (train, test)
    }

    fn trainer(epochs: usize) -> Trainer {
        Trainer::new(epochs)
            .with_seed(11)
            .with_schedule(LrSchedule::step(1, 0.5).unwrap())
            .with_progress(ProgressOutput::Hidden)
    }

    /// Every option of SpikingJelly's `train_classify` loop at once.
    fn full_trainer(epochs: usize, dir: &std::path::Path) -> Trainer {
        trainer(epochs)
            .with_loss(Loss::CrossEntropy)
            .with_schedule(LrSchedule::cosine(2).unwrap())
            .with_warmup(Warmup {
                method: super::super::WarmupMethod::Linear,
                epochs: 1,
                decay: 0.1,
            })
            .with_label_smoothing(0.1)
            .with_mixup_cutmix(0.2, 1.0)
            .with_model_ema(2, 0.9)
            .with_clip_grad_norm(0.5)
            .with_checkpoint_dir(dir)
            .with_tensorboard(dir.join("tb"))
    }

    #[test]
    fn resume_with_mixup_cutmix_ema_warmup_and_clipping_is_bitwise() {
        let dir = std::env::temp_dir().join(format!("sj-trainer-full-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let (train, test) = loaders();
        let run = |epochs: usize, sub: &str, resume: bool| {
            let vs = nn::VarStore::new(Device::Cpu);
            let mut snn = net(&vs);
            let mut w = vs.variables()["1.weight"].shallow_clone();
            tch::no_grad(|| w.copy_(&(test_values(4, 48).view([3, 16]) * 0.5)));
            let mut sgd = SGD::new(&vs, 0.5).unwrap().with_momentum(0.9).unwrap();
            let log = full_trainer(epochs, &dir.join(sub))
                .with_resume(resume)
                .fit(&mut snn, &vs, &mut sgd, &train, &test, forward_repeat)
                .unwrap();
            (vs, log)
        };
        let (vs_a, log_a) = run(3, "a", false);
        let _ = run(1, "b", false);
        let (vs_b, log_b) = run(3, "b", true);
        assert!(vs_a.variables()["1.weight"].equal(&vs_b.variables()["1.weight"]));
        let ema = |d: &str| {
            Tensor::read_safetensors(dir.join(d).join("checkpoint_latest.safetensors"))
                .unwrap()
                .into_iter()
                .find(|(k, _)| k == "ema.1.weight")
                .unwrap()
                .1
        };
        let (ema_a, ema_b) = (ema("a"), ema("b"));
        assert!(ema_a.equal(&ema_b));
        assert!(
            !ema_a.equal(&vs_a.variables()["1.weight"]),
            "the average lags the model"
        );
        let strip = |l: &TrainLog| -> Vec<[f64; 6]> {
            l.epochs
                .iter()
                .map(|r| {
                    [
                        r.lr,
                        r.train_loss,
                        r.train_acc,
                        r.test_loss,
                        r.test_acc,
                        r.test_acc5,
                    ]
                })
                .collect()
        };
        assert_eq!(strip(&log_a), strip(&log_b));
        // warm-up 0.1·0.5, then cosine over 2 epochs from its start
        let lr: Vec<f64> = log_a.epochs.iter().map(|r| r.lr).collect();
        assert_eq!(lr, [0.05, 0.5, 0.25]);
        // 3 classes: Acc@5 is 1.
        assert!(log_a.epochs.iter().all(|r| r.test_acc5 == 1.0));
        // TensorBoard scalars: 9 tags per epoch, epochs 0..3 (b: one file per run).
        let scalars = |d: &str| -> Vec<(String, i64, f32)> {
            let mut files: Vec<_> = std::fs::read_dir(dir.join(d).join("tb"))
                .unwrap()
                .map(|e| e.unwrap().path())
                .collect();
            files.sort();
            files
                .iter()
                .flat_map(|f| super::super::read_scalars(f).unwrap())
                .collect()
        };
        let (tb_a, tb_b) = (scalars("a"), scalars("b"));
        assert_eq!(tb_a.len(), 27);
        let test_acc1: Vec<(i64, f32)> = tb_a
            .iter()
            .filter(|(t, ..)| t == "test_acc1")
            .map(|(_, s, v)| (*s, *v))
            .collect();
        let want: Vec<(i64, f32)> = log_a
            .epochs
            .iter()
            .map(|r| (r.epoch as i64, r.test_acc as f32))
            .collect();
        assert_eq!(test_acc1, want);
        let mut tags_b: Vec<_> = tb_b.iter().map(|(t, s, _)| (t.clone(), *s)).collect();
        let mut tags_a: Vec<_> = tb_a.iter().map(|(t, s, _)| (t.clone(), *s)).collect();
        tags_a.sort();
        tags_b.sort();
        assert_eq!(tags_a, tags_b);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn mixed_precision_on_the_cpu_trains_in_bfloat16() {
        let (train, test) = loaders();
        let run = |amp: bool| {
            let vs = nn::VarStore::new(Device::Cpu);
            let mut snn = net(&vs);
            let mut w = vs.variables()["1.weight"].shallow_clone();
            tch::no_grad(|| w.copy_(&(test_values(4, 48).view([3, 16]) * 0.5)));
            let mut sgd = SGD::new(&vs, 0.5).unwrap();
            let kinds = std::cell::RefCell::new(Vec::new());
            let log = trainer(3)
                .with_loss(Loss::CrossEntropy)
                .with_amp(amp)
                .fit(&mut snn, &vs, &mut sgd, &train, &test, |n, x| {
                    let spikes = n.forward(&x.unsqueeze(0).repeat([4, 1, 1, 1, 1]))?;
                    kinds.borrow_mut().push(spikes.kind());
                    Ok(spikes.mean_dim(0, false, Kind::Float))
                })
                .unwrap();
            (log, kinds.into_inner(), vs.variables()["1.weight"].copy())
        };
        let (log32, kinds32, w32) = run(false);
        let (log16, kinds16, w16) = run(true);
        // Training batches ran under autocast (the Linear computed in bfloat16), test batches not.
        assert!(kinds32.iter().all(|&k| k == Kind::Float));
        assert!(kinds16.contains(&Kind::BFloat16) && kinds16.contains(&Kind::Float));
        assert_eq!(w16.kind(), Kind::Float, "the parameters stay float32");
        assert!(!w16.equal(&w32), "bfloat16 products round differently");
        let last = |l: &TrainLog| l.epochs.last().unwrap().train_loss;
        assert!(last(&log16) < log16.epochs[0].train_loss, "{log16:?}");
        assert!(
            (last(&log16) - last(&log32)).abs() < 0.1,
            "{log16:?}\n{log32:?}"
        );
    }

    #[test]
    fn learns_and_logs() {
        let (train, test) = loaders();
        tch::manual_seed(0);
        let vs = nn::VarStore::new(Device::Cpu);
        let mut snn = net(&vs);
        let mut adam = Adam::new(&vs, 0.05).unwrap();
        let log = trainer(4)
            .fit(&mut snn, &vs, &mut adam, &train, &test, forward)
            .unwrap();
        let df = log.to_dataframe().unwrap();
        assert_eq!(df.shape(), (4, 10));
        let lr: Vec<f64> = log.epochs.iter().map(|r| r.lr).collect();
        assert_eq!(lr, vec![0.05, 0.025, 0.0125, 0.00625]);
        assert_eq!(adam.lr(), 0.05);
        let first = &log.epochs[0];
        let last = &log.epochs[3];
        assert!(last.train_loss < first.train_loss, "{log:?}");
        // 3 classes: chance is 1/3; the easy task is learnt
        assert!(last.test_acc > 0.8, "{log:?}");
        assert!(first.train_speed > 0.0 && last.test_speed > 0.0);
    }

    /// The image repeated over T = 4 steps, the output firing rate. No RNG: other tests running
    /// in parallel threads draw from libtorch's global generator, which would break bitwise
    /// comparisons of Poisson-encoded runs.
    fn forward_repeat(net: &mut dyn Module, x: &Tensor) -> Result<Tensor> {
        Ok(net
            .forward(&x.unsqueeze(0).repeat([4, 1, 1, 1, 1]))?
            .mean_dim(0, false, Kind::Float))
    }

    #[test]
    fn resume_is_bitwise_the_uninterrupted_run() {
        let dir = std::env::temp_dir().join(format!("sj-trainer-resume-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let (after_1, resumed, no_momentum) = (
            dir.join("after-1"),
            dir.join("resumed"),
            dir.join("no-momentum"),
        );
        let latest = |d: &std::path::Path| d.join("checkpoint_latest.safetensors");
        let (train, test) = loaders();
        let make = |seed: u64| {
            let vs = nn::VarStore::new(Device::Cpu);
            let snn = net(&vs);
            let mut w = vs.variables()["1.weight"].shallow_clone();
            tch::no_grad(|| w.copy_(&(test_values(seed, 48).view([3, 16]) * 0.5)));
            (vs, snn)
        };
        let sgd = |vs: &nn::VarStore| SGD::new(vs, 0.2).unwrap().with_momentum(0.9).unwrap();

        // uninterrupted: 3 epochs
        let (vs_a, mut a) = make(0);
        let log_a = trainer(3)
            .fit(
                &mut a,
                &vs_a,
                &mut sgd(&vs_a),
                &train,
                &test,
                forward_repeat,
            )
            .unwrap();

        // stopped after 1 epoch, then resumed with another initialisation and a fresh optimizer
        let (vs_b, mut b) = make(0);
        trainer(1)
            .with_checkpoint_dir(&after_1)
            .fit(
                &mut b,
                &vs_b,
                &mut sgd(&vs_b),
                &train,
                &test,
                forward_repeat,
            )
            .unwrap();
        assert!(latest(&after_1).is_file() && after_1.join("checkpoint_max.safetensors").is_file());
        std::fs::create_dir_all(&resumed).unwrap();
        std::fs::copy(latest(&after_1), latest(&resumed)).unwrap();
        let (vs_c, mut c) = make(99);
        let log_c = trainer(3)
            .with_checkpoint_dir(&resumed)
            .with_resume(true)
            .fit(
                &mut c,
                &vs_c,
                &mut sgd(&vs_c),
                &train,
                &test,
                forward_repeat,
            )
            .unwrap();
        let wa = &vs_a.variables()["1.weight"];
        let wc = &vs_c.variables()["1.weight"];
        assert!(
            wa.equal(wc),
            "max diff {}",
            (wa - wc).abs().max().double_value(&[])
        );
        let metrics = |l: &TrainLog| {
            l.epochs
                .iter()
                .map(|r| {
                    (
                        r.epoch,
                        r.lr,
                        r.train_loss,
                        r.train_acc,
                        r.test_loss,
                        r.test_acc,
                    )
                })
                .collect::<Vec<_>>()
        };
        assert_eq!(metrics(&log_a), metrics(&log_c));
        assert_eq!(log_c.epochs.len(), 3);
        let mut throwaway = sgd(&vs_c);
        assert_eq!(
            Checkpoint::load(latest(&resumed), &vs_c, &mut throwaway, None)
                .unwrap()
                .epoch,
            3
        );

        // the same resume without the optimizer's momentum buffers ends elsewhere (the test can fail)
        let (vs_d, mut d) = make(5);
        let ckpt = Checkpoint::load(latest(&after_1), &vs_d, &mut sgd(&vs_d), None).unwrap();
        assert_eq!(ckpt.epoch, 1);
        std::fs::create_dir_all(&no_momentum).unwrap();
        ckpt.save(latest(&no_momentum), &vs_d, &sgd(&vs_d), None)
            .unwrap();
        trainer(3)
            .with_checkpoint_dir(&no_momentum)
            .with_resume(true)
            .fit(
                &mut d,
                &vs_d,
                &mut sgd(&vs_d),
                &train,
                &test,
                forward_repeat,
            )
            .unwrap();
        assert!(!vs_d.variables()["1.weight"].equal(wa));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn wrong_outputs_are_errors_and_leave_the_net_reset() {
        let (train, test) = loaders();
        let vs = nn::VarStore::new(Device::Cpu);
        let mut snn = net(&vs);
        let mut adam = Adam::new(&vs, 0.01).unwrap();
        let seq =
            |net: &mut dyn Module, x: &Tensor| net.forward(&x.unsqueeze(0).repeat([4, 1, 1, 1, 1]));
        let e = trainer(1)
            .fit(&mut snn, &vs, &mut adam, &train, &test, seq)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("Trainer: expected input shape a float output [N, classes] for labels [16]")
                && e.contains("[4, 16, 3]"),
            "{e}"
        );
        let bad = |net: &mut dyn Module, x: &Tensor| net.forward(&x.flatten(1, -1).unsqueeze(0));
        assert!(trainer(1)
            .fit(&mut snn, &vs, &mut adam, &train, &test, bad)
            .is_err());
        // the LIF state was reset, so a correct run works right after
        assert!(trainer(1)
            .with_max_batches(1)
            .fit(&mut snn, &vs, &mut adam, &train, &test, forward)
            .is_ok());
    }
}
