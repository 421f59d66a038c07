//! `TrainLog`: one row of metrics per epoch, as a polars `DataFrame` and as curves.
use crate::error::{Result, SjError};
use polars::prelude::*;
use sj_plots::{plot_training_curves, Figure, Run};

/// The metrics of one epoch (the numbers SpikingJelly's examples print).
#[derive(Clone, Debug, PartialEq)]
pub struct EpochRecord {
    /// 0-based epoch.
    pub epoch: usize,
    /// Learning rate used.
    pub lr: f64,
    /// Mean training loss per sample.
    pub train_loss: f64,
    /// Training accuracy.
    pub train_acc: f64,
    /// Mean test loss per sample.
    pub test_loss: f64,
    /// Test accuracy.
    pub test_acc: f64,
    /// Training throughput, samples per second.
    pub train_speed: f64,
    /// Test throughput, samples per second.
    pub test_speed: f64,
}

/// The per-epoch metrics of a run (including the epochs before a resume).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct TrainLog {
    /// One record per finished epoch, in order.
    pub epochs: Vec<EpochRecord>,
}

/// The column names, in order.
pub(crate) const COLUMNS: [&str; 8] = [
    "epoch",
    "lr",
    "train_loss",
    "train_acc",
    "test_loss",
    "test_acc",
    "train_speed",
    "test_speed",
];

impl EpochRecord {
    /// The values in [`COLUMNS`] order.
    pub(crate) fn values(&self) -> [f64; 8] {
        [
            self.epoch as f64,
            self.lr,
            self.train_loss,
            self.train_acc,
            self.test_loss,
            self.test_acc,
            self.train_speed,
            self.test_speed,
        ]
    }

    /// A record from values in [`COLUMNS`] order.
    pub(crate) fn from_values(v: &[f64]) -> Self {
        EpochRecord {
            epoch: v[0] as usize,
            lr: v[1],
            train_loss: v[2],
            train_acc: v[3],
            test_loss: v[4],
            test_acc: v[5],
            train_speed: v[6],
            test_speed: v[7],
        }
    }
}

impl TrainLog {
    /// The best test accuracy so far (0 before any epoch).
    pub fn max_test_acc(&self) -> f64 {
        self.epochs.iter().map(|r| r.test_acc).fold(0.0, f64::max)
    }

    /// The log as a `DataFrame` with columns `epoch, lr, train_loss, train_acc, test_loss,
    /// test_acc, train_speed, test_speed` (speeds in samples/s).
    pub fn to_dataframe(&self) -> Result<DataFrame> {
        let column = |i: usize| {
            self.epochs
                .iter()
                .map(|r| r.values()[i])
                .collect::<Vec<f64>>()
        };
        let mut columns = vec![Column::new(
            "epoch".into(),
            self.epochs
                .iter()
                .map(|r| r.epoch as i64)
                .collect::<Vec<i64>>(),
        )];
        columns.extend(
            COLUMNS
                .iter()
                .enumerate()
                .skip(1)
                .map(|(i, name)| Column::new((*name).into(), column(i))),
        );
        DataFrame::new(self.epochs.len(), columns).map_err(|e| SjError::config("TrainLog", e))
    }

    /// The log as a plots `Run` named `name` (for overlaying several runs).
    pub fn to_run(&self, name: &str) -> Run {
        let mut run = Run::new(name);
        for r in &self.epochs {
            run.push(
                r.epoch,
                r.train_loss as f32,
                r.test_loss as f32,
                r.train_acc as f32,
                r.test_acc as f32,
            );
        }
        run
    }

    /// Loss (left) and accuracy (right) per epoch, train solid and test dashed
    /// (`plot_training_curves`).
    pub fn plot(&self, title: &str) -> Result<Figure> {
        Ok(plot_training_curves(&[self.to_run("")], title)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(epoch: usize, acc: f64) -> EpochRecord {
        EpochRecord::from_values(&[epoch as f64, 0.1, 0.5, acc - 0.05, 0.4, acc, 1000.0, 2000.0])
    }

    #[test]
    fn dataframe_and_curves() {
        let log = TrainLog {
            epochs: vec![record(0, 0.8), record(1, 0.9), record(2, 0.85)],
        };
        assert_eq!(log.max_test_acc(), 0.9);
        let df = log.to_dataframe().unwrap();
        assert_eq!(df.shape(), (3, 8));
        assert_eq!(
            df.get_column_names()
                .iter()
                .map(|c| c.as_str())
                .collect::<Vec<_>>(),
            COLUMNS.to_vec()
        );
        let acc: Vec<f64> = df
            .column("test_acc")
            .unwrap()
            .f64()
            .unwrap()
            .into_no_null_iter()
            .collect();
        assert_eq!(acc, vec![0.8, 0.9, 0.85]);
        assert_eq!(df.column("epoch").unwrap().i64().unwrap().get(2), Some(2));
        assert_eq!(record(4, 0.7).values()[0], 4.0);
        let run = log.to_run("a");
        assert_eq!(
            (run.epochs, run.test_acc),
            (vec![0, 1, 2], vec![0.8f32, 0.9, 0.85])
        );
        assert!(log.plot("curves").unwrap().ink() > 0.0);
        assert!(TrainLog::default().plot("empty").is_err());
    }
}
