//! Checkpoints: the network's variables, the optimizer's state, the epoch and the log in one
//! `.safetensors` file (SpikingJelly's `checkpoint_latest.pth` / `checkpoint_max.pth` dicts with
//! keys `net`, `optimizer`, `epoch`, `max_test_acc`).
//!
//! Tensor names: `net.<variable>`, `optimizer.<state entry>`, `trainer.epoch` (epochs finished),
//! `trainer.max_test_acc`, `log.<column>` (one value per finished epoch) and, with a model EMA,
//! `ema.<entry>`. The file is written
//! under a temporary name and renamed, so an interrupted save never leaves a half-written file.
use super::log::{EpochRecord, TrainLog, COLUMNS, OPTIONAL_COLUMNS};
use super::optim::Optimizer;
use super::regularize::ModelEma;
use super::{as_count, count};
use crate::base::NamedTensor;
use crate::error::{Result, SjError};
use crate::state_dict::load_named_tensors;
use std::path::Path;
use tch::{nn, Tensor};

/// What a checkpoint holds besides the weights and the optimizer state.
#[derive(Clone, Debug, PartialEq)]
pub struct Checkpoint {
    /// Epochs finished; a resumed run starts at this epoch.
    pub epoch: usize,
    /// The best test accuracy so far.
    pub max_test_acc: f64,
    /// The metrics of the finished epochs.
    pub log: TrainLog,
}

fn bad(path: &Path, message: impl std::fmt::Display) -> SjError {
    SjError::config("Checkpoint", format!("{}: {message}", path.display()))
}

impl Checkpoint {
    /// Saves `vs`'s variables, `optimizer`'s state, the model average (if any) and `self` to
    /// `path` (a `.safetensors` file).
    pub fn save(
        &self,
        path: impl AsRef<Path>,
        vs: &nn::VarStore,
        optimizer: &dyn Optimizer,
        ema: Option<&ModelEma>,
    ) -> Result<()> {
        let path = path.as_ref();
        let mut named: Vec<NamedTensor> = vs
            .variables()
            .into_iter()
            .map(|(k, t)| (format!("net.{k}"), t))
            .collect();
        named.extend(
            optimizer
                .state()
                .into_iter()
                .map(|(k, t)| (format!("optimizer.{k}"), t)),
        );
        if let Some(ema) = ema {
            named.extend(
                ema.state()
                    .into_iter()
                    .map(|(k, t)| (format!("ema.{k}"), t)),
            );
        }
        named.push((
            "trainer.epoch".into(),
            Tensor::from_slice(&[self.epoch as i64]),
        ));
        named.push((
            "trainer.max_test_acc".into(),
            Tensor::from_slice(&[self.max_test_acc]),
        ));
        for (i, column) in COLUMNS.iter().enumerate() {
            let values: Vec<f64> = self.log.epochs.iter().map(|r| r.values()[i]).collect();
            named.push((format!("log.{column}"), Tensor::from_slice(&values)));
        }
        named.sort_by(|a, b| a.0.cmp(&b.0));
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let tmp = path.with_file_name(format!(".{name}.partial"));
        Tensor::write_safetensors(&named, &tmp).map_err(|e| bad(&tmp, e))?;
        std::fs::rename(&tmp, path).map_err(|source| {
            let _ = std::fs::remove_file(&tmp);
            SjError::Io {
                path: path.display().to_string(),
                source,
            }
        })
    }

    /// Loads a checkpoint written by [`Checkpoint::save`] into `vs`, `optimizer` and `ema` (strict:
    /// every variable and state entry must match) and returns the rest.
    pub fn load(
        path: impl AsRef<Path>,
        vs: &nn::VarStore,
        optimizer: &mut dyn Optimizer,
        ema: Option<&mut ModelEma>,
    ) -> Result<Checkpoint> {
        let path = path.as_ref();
        let tensors = Tensor::read_safetensors(path).map_err(|e| bad(path, e))?;
        let part = |prefix: &str| -> Vec<NamedTensor> {
            tensors
                .iter()
                .filter_map(|(k, t)| {
                    k.strip_prefix(prefix)
                        .map(|n| (n.to_string(), t.shallow_clone()))
                })
                .collect()
        };
        let entry = |name: &str| -> Result<&Tensor> {
            tensors
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, t)| t)
                .ok_or_else(|| bad(path, format!("no '{name}' entry (not an sj checkpoint?)")))
        };
        let epoch = entry("trainer.epoch")?;
        let epoch = count(epoch).ok_or_else(|| {
            bad(
                path,
                format!("'trainer.epoch' must be one integer >= 0, got {epoch:?}"),
            )
        })?;
        let max_test_acc = entry("trainer.max_test_acc")?;
        let max_test_acc = (max_test_acc.numel() == 1)
            .then(|| {
                max_test_acc
                    .f_flatten(0, -1)
                    .and_then(|t| t.f_double_value(&[0]))
                    .ok()
            })
            .flatten()
            .filter(|acc| (0.0..=1.0).contains(acc))
            .ok_or_else(|| {
                bad(
                    path,
                    format!(
                        "'trainer.max_test_acc' must be one value in [0, 1], got {max_test_acc:?}"
                    ),
                )
            })?;
        let columns: Vec<Vec<f64>> = COLUMNS
            .iter()
            .map(|c| {
                let name = format!("log.{c}");
                if OPTIONAL_COLUMNS.contains(c) && entry(&name).is_err() {
                    return Ok(vec![f64::NAN; epoch as usize]);
                }
                let t = entry(&name)?;
                Vec::<f64>::try_from(t).map_err(|e| bad(path, format!("'{name}': {e}")))
            })
            .collect::<Result<_>>()?;
        let rows = columns[0].len();
        if columns.iter().any(|c| c.len() != rows) {
            return Err(bad(
                path,
                format!("inconsistent trainer entries (epoch {epoch}, log lengths differ)"),
            ));
        }
        // The epoch column counts epochs: integers >= 0.
        if let Some(e) = columns[0].iter().find(|&&e| as_count(e).is_none()) {
            return Err(bad(
                path,
                format!("'log.epoch' holds {e}, not an epoch number"),
            ));
        }
        let log = TrainLog {
            epochs: (0..rows)
                .map(|r| {
                    EpochRecord::from_values(&columns.iter().map(|c| c[r]).collect::<Vec<f64>>())
                })
                .collect(),
        };
        // Check every part before changing any.
        let state = part("optimizer.");
        let weights = part("net.");
        let averaged = part("ema.");
        let before = optimizer.state();
        optimizer.load_state(&state)?;
        let ema_before = ema.as_ref().map(|e| e.state());
        let mut ema = ema;
        let loaded = match ema.as_deref_mut() {
            Some(e) => e.load_state(&averaged).map_err(|e| bad(path, e)),
            None => Ok(()),
        }
        .and_then(|()| load_named_tensors(vs, &weights, &path.display().to_string()));
        if let Err(e) = loaded {
            optimizer.load_state(&before)?;
            if let (Some(e), Some(state)) = (ema, ema_before) {
                e.load_state(&state)?;
            }
            return Err(e);
        }
        Ok(Checkpoint {
            // count() is below 2^53.
            epoch: epoch as usize,
            max_test_acc,
            log,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::training::optim::Adam;
    use tch::{Device, Kind};

    #[test]
    fn round_trip_and_errors() {
        let dir = std::env::temp_dir().join(format!("sj-checkpoint-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("checkpoint_latest.safetensors");
        tch::manual_seed(0);
        let vs = nn::VarStore::new(Device::Cpu);
        let w = (vs.root() / "0").randn("weight", &[2, 3], 0.0, 1.0);
        let mut adam = Adam::new(&vs, 0.01).unwrap();
        w.sum(Kind::Float).backward();
        adam.step().unwrap();
        let record =
            EpochRecord::from_values(&[0.0, 0.01, 0.5, 0.6, 0.4, 0.7, 100.0, 200.0, 0.9, 1.0]);
        let ckpt = Checkpoint {
            epoch: 1,
            max_test_acc: 0.7,
            log: TrainLog {
                epochs: vec![record],
            },
        };
        ckpt.save(&file, &vs, &adam, None).unwrap();
        assert!(!dir.join(".checkpoint_latest.safetensors.partial").exists());

        let vs2 = nn::VarStore::new(Device::Cpu);
        let w2 = (vs2.root() / "0").zeros("weight", &[2, 3]);
        let mut adam2 = Adam::new(&vs2, 0.01).unwrap();
        let loaded = Checkpoint::load(&file, &vs2, &mut adam2, None).unwrap();
        assert_eq!(loaded, ckpt);
        assert!(w2.equal(&w));
        assert_eq!(adam2.steps(), 1);
        let (a, b) = (adam.state(), adam2.state());
        assert!(a
            .iter()
            .zip(&b)
            .all(|((ka, ta), (kb, tb))| ka == kb && ta.equal(tb)));

        // a network with other variables: nothing changes, the error names the keys
        let vs3 = nn::VarStore::new(Device::Cpu);
        let _other = (vs3.root() / "1").zeros("weight", &[2, 3]);
        let mut adam3 = Adam::new(&vs3, 0.01).unwrap();
        assert!(Checkpoint::load(&file, &vs3, &mut adam3, None).is_err());
        assert_eq!(adam3.steps(), 0);
        std::fs::write(dir.join("junk.safetensors"), b"not a checkpoint").unwrap();
        let e = Checkpoint::load(dir.join("junk.safetensors"), &vs2, &mut adam2, None)
            .unwrap_err()
            .to_string();
        assert!(e.contains("junk.safetensors"), "{e}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
