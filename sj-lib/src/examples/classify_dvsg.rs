//! `examples.classify_dvsg`: DVS128 Gesture classified by the PLIF paper's `DVSGestureNet` (T11).
//!
//! Frames `frames_number = T, split_by = 'number'` of the DVS128 Gesture recordings (`[N, T, 2,
//! 128, 128]`, transposed to `[T, N, ...]`), `DVSGestureNet(channels, LIFNode(tau 2, ATan,
//! detach_reset))` in step mode `'m'`, output = firing rate over T of the 11 voting groups, MSE to
//! the one-hot label. SpikingJelly's run (`-T 16 -b 16 -epochs 64 -amp -cupy -opt adam -lr
//! 0.001 -j 8`, channels 128, on a GPU) reaches test accuracy 0.9375.
use super::Args;
use crate::base::{Backend, Module, StepMode};
use crate::error::{Result, SjError};
use crate::functional::set_step_mode;
use crate::model::parametric_lif_net::DVSGestureNet;
use crate::neuron::{LIFNode, NodeOptions};
use crate::surrogate::Surrogate;
use crate::training::TrainLog;
use sj_datasets::neuromorphic::{DVS128Gesture, DataType, NeuromorphicDatasetFolder, SplitBy};
use sj_datasets::DataLoader;
use std::path::PathBuf;
use tch::{nn, Device, Kind, Tensor};

/// The script's defaults: `-T 16 -b 16 -epochs 64 -j 4 -opt sgd -lr 0.1 -momentum 0.9
/// -channels 128` (the seed's run used `-opt adam -lr 0.001`), data in `./DVS128Gesture`.
pub fn default_args() -> Args {
    Args {
        t: 16,
        device: Device::Cpu,
        b: 16,
        epochs: 64,
        j: 4,
        data_dir: PathBuf::from("./DVS128Gesture"),
        out_dir: None,
        resume: false,
        opt: "sgd".into(),
        momentum: 0.9,
        lr: 0.1,
        tau: 2.0,
        channels: 128,
        channels2: None,
        hidden: None,
        cosine: false,
        backend: Backend::Auto,
        seed: 0,
        train_samples: None,
        max_batches: None,
    }
}

/// The script's neuron: `LIFNode(tau=2.0, surrogate_function=ATan(), detach_reset=True)`.
fn lif_atan(_: &nn::Path) -> Result<Box<dyn Module>> {
    Ok(Box::new(
        LIFNode::new(2.0)?
            .with_surrogate(Surrogate::atan(2.0)?)
            .with_detach_reset(true),
    ))
}

/// `DVSGestureNet(channels)` with the script's neuron, in step mode `'m'`.
pub fn network(path: &nn::Path, channels: i64) -> Result<Box<dyn Module>> {
    let mut net: Box<dyn Module> = Box::new(DVSGestureNet(path, channels, &lif_atan)?);
    set_step_mode(net.as_mut(), StepMode::M)?;
    Ok(net)
}

/// The script's forward: frames `[N, T, 2, H, W]` to `[T, N, ...]`, the firing rate over T.
pub fn forward(net: &mut dyn Module, frames: &Tensor) -> Result<Tensor> {
    if frames.dim() != 5 {
        return Err(SjError::Shape {
            module: "classify_dvsg".into(),
            expected: "frames [N, T, 2, H, W]".into(),
            got: frames.size(),
        });
    }
    let x_seq = frames.f_transpose(0, 1)?;
    Ok(net.forward(&x_seq)?.f_mean_dim(0, false, Kind::Float)?)
}

/// The train and test sets as frames (`frames_number = T, split_by = 'number'`) from
/// `-data-dir`, the DVS128 Gesture root (`download/` with IBM's files, or an `events_np/` tree).
pub fn datasets(args: &Args) -> Result<(NeuromorphicDatasetFolder, NeuromorphicDatasetFolder)> {
    let t = usize::try_from(args.t).map_err(|_| {
        SjError::config("classify_dvsg", format!("-T must be >= 1, got {}", args.t))
    })?;
    let frames = || DataType::frames_number(t, SplitBy::Number);
    Ok((
        NeuromorphicDatasetFolder::new(DVS128Gesture, &args.data_dir, Some(true), frames())?,
        NeuromorphicDatasetFolder::new(DVS128Gesture, &args.data_dir, Some(false), frames())?,
    ))
}

/// Trains as the script does (checkpoints in `-out-dir` when given) and returns the log.
pub fn main(args: &Args) -> Result<TrainLog> {
    let (train, test) = datasets(args)?;
    let train = DataLoader::new(train, args.b)?
        .with_device(args.device)
        .with_prefetch(args.j)
        .with_shuffle(args.seed)
        .with_drop_last(true);
    let test = DataLoader::new(test, args.b)?
        .with_device(args.device)
        .with_prefetch(args.j);
    tch::manual_seed(args.seed as i64);
    let vs = nn::VarStore::new(args.device);
    let mut net = network(&vs.root(), args.channels)?;
    args.fit(
        args.run_dir(true),
        net.as_mut(),
        &vs,
        &train,
        &test,
        forward,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use sj_datasets::fixtures::{dvs128_gesture_synthetic, Unverified};

    #[test]
    fn trains_on_dvs128_gesture_files_and_names_the_run_as_spikingjelly() {
        let root = std::env::temp_dir().join(format!("sj-classify-dvsg-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        dvs128_gesture_synthetic(&root, 1, 1, 200).unwrap();
        // The synthetic archive is not IBM's: unpack it once without the MD5 check.
        let events = NeuromorphicDatasetFolder::new(
            Unverified(DVS128Gesture),
            &root,
            Some(true),
            DataType::Event,
        )
        .unwrap();
        assert_eq!((events.len(), events.classes().len()), (11, 11));
        let args = default_args()
            .parse(
                [
                    "-T",
                    "4",
                    "-b",
                    "4",
                    "-epochs",
                    "1",
                    "-channels",
                    "4",
                    "-opt",
                    "adam",
                    "-lr",
                    "0.001",
                    "-j",
                    "0",
                ]
                .iter()
                .map(|s| s.to_string())
                .chain([
                    "-data-dir".into(),
                    root.display().to_string(),
                    "-out-dir".into(),
                    root.join("logs").display().to_string(),
                ]),
            )
            .unwrap();
        let log = main(&args).unwrap();
        assert_eq!(log.epochs.len(), 1);
        assert!(log.epochs[0].test_acc5 >= log.epochs[0].test_acc);
        let run = root.join("logs/T4_b4_adam_lr0.001_c4");
        assert!(
            run.join("log.csv").is_file() && run.join("args.json").is_file(),
            "{run:?}"
        );
        // 4 frames of 2 x 128 x 128 per sample; a wrong layout is an error, not a panic.
        let vs = nn::VarStore::new(Device::Cpu);
        let mut net = network(&vs.root(), 4).unwrap();
        let e = forward(
            net.as_mut(),
            &Tensor::zeros([2, 2, 128, 128], (Kind::Float, Device::Cpu)),
        );
        assert!(e.unwrap_err().to_string().contains("[N, T, 2, H, W]"));
        std::fs::remove_dir_all(&root).unwrap();
    }
}
