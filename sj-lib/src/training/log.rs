//! `TrainLog`: one row of metrics per epoch, as a polars `DataFrame` and as curves.
use crate::error::{Result, SjError};
use crate::record::write_atomic;
use polars::prelude::*;
use sj_plots::{plot_training_curves, Figure, Run};
use std::path::Path;

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
    /// Training top-5 accuracy (`Acc@5`; 1 with 5 classes or fewer).
    pub train_acc5: f64,
    /// Test top-5 accuracy.
    pub test_acc5: f64,
}

/// The per-epoch metrics of a run (including the epochs before a resume).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct TrainLog {
    /// One record per finished epoch, in order.
    pub epochs: Vec<EpochRecord>,
}

/// The column names, in order.
pub(crate) const COLUMNS: [&str; 10] = [
    "epoch",
    "lr",
    "train_loss",
    "train_acc",
    "test_loss",
    "test_acc",
    "train_speed",
    "test_speed",
    "train_acc5",
    "test_acc5",
];

/// The columns a log written before top-5 accuracy was recorded lacks (read back as NaN).
pub(crate) const OPTIONAL_COLUMNS: [&str; 2] = ["train_acc5", "test_acc5"];

impl EpochRecord {
    /// The values in [`COLUMNS`] order.
    pub(crate) fn values(&self) -> [f64; 10] {
        [
            self.epoch as f64,
            self.lr,
            self.train_loss,
            self.train_acc,
            self.test_loss,
            self.test_acc,
            self.train_speed,
            self.test_speed,
            self.train_acc5,
            self.test_acc5,
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
            train_acc5: v[8],
            test_acc5: v[9],
        }
    }
}

impl TrainLog {
    /// The best test accuracy so far (0 before any epoch).
    pub fn max_test_acc(&self) -> f64 {
        self.epochs.iter().map(|r| r.test_acc).fold(0.0, f64::max)
    }

    /// The log as a `DataFrame` with columns `epoch, lr, train_loss, train_acc, test_loss,
    /// test_acc, train_speed, test_speed, train_acc5, test_acc5` (speeds in samples/s).
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

    /// Writes the log as CSV (the columns of [`TrainLog::to_dataframe`], a header line, one row
    /// per epoch) through a temporary file renamed into place.
    pub fn save_csv(&self, path: impl AsRef<Path>) -> Result<()> {
        let mut df = self.to_dataframe()?;
        let path = path.as_ref();
        write_atomic(path, |file| {
            CsvWriter::new(file)
                .finish(&mut df)
                .map_err(|e| SjError::config("TrainLog", format!("{}: {e}", path.display())))
        })
    }

    /// Writes the log as Parquet (the columns of [`TrainLog::to_dataframe`]) through a
    /// temporary file renamed into place.
    pub fn save_parquet(&self, path: impl AsRef<Path>) -> Result<()> {
        let mut df = self.to_dataframe()?;
        let path = path.as_ref();
        write_atomic(path, |file| {
            ParquetWriter::new(file)
                .finish(&mut df)
                .map(drop)
                .map_err(|e| SjError::config("TrainLog", format!("{}: {e}", path.display())))
        })
    }

    /// Reads a log written by [`TrainLog::save_csv`]; the error names the file.
    pub fn read_csv(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let err = |e: PolarsError| {
            SjError::config("TrainLog::read_csv", format!("{}: {e}", path.display()))
        };
        let df = CsvReadOptions::default()
            .with_has_header(true)
            .try_into_reader_with_file_path(Some(path.to_path_buf()))
            .and_then(|r| r.finish())
            .map_err(err)?;
        let columns = COLUMNS
            .iter()
            .map(|name| {
                if OPTIONAL_COLUMNS.contains(name) && df.column(name).is_err() {
                    return Ok(vec![f64::NAN; df.height()]);
                }
                df.column(name)
                    .and_then(|c| c.cast(&DataType::Float64))
                    .and_then(|c| {
                        let values = c.f64()?;
                        polars_ensure!(values.null_count() == 0, ComputeError: "column {name} has empty cells");
                        Ok(values.into_no_null_iter().collect::<Vec<f64>>())
                    })
            })
            .collect::<std::result::Result<Vec<_>, _>>()
            .map_err(err)?;
        Ok(TrainLog {
            epochs: (0..df.height())
                .map(|row| {
                    EpochRecord::from_values(&columns.iter().map(|c| c[row]).collect::<Vec<_>>())
                })
                .collect(),
        })
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
        EpochRecord::from_values(&[
            epoch as f64,
            0.1,
            0.5,
            acc - 0.05,
            0.4,
            acc,
            1000.0,
            2000.0,
            0.99,
            1.0,
        ])
    }

    #[test]
    fn dataframe_and_curves() {
        let log = TrainLog {
            epochs: vec![record(0, 0.8), record(1, 0.9), record(2, 0.85)],
        };
        assert_eq!(log.max_test_acc(), 0.9);
        let df = log.to_dataframe().unwrap();
        assert_eq!(df.shape(), (3, 10));
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
        // CSV and Parquet files read back (CSV by sj, Parquet by polars) with the same values.
        let dir = std::env::temp_dir().join(format!("sj-trainlog-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        log.save_csv(dir.join("log.csv")).unwrap();
        let text = std::fs::read_to_string(dir.join("log.csv")).unwrap();
        assert_eq!(
            text.lines().next().unwrap(),
            "epoch,lr,train_loss,train_acc,test_loss,test_acc,train_speed,test_speed,train_acc5,test_acc5"
        );
        assert_eq!(TrainLog::read_csv(dir.join("log.csv")).unwrap(), log);
        log.save_parquet(dir.join("log.parquet")).unwrap();
        let df = ParquetReader::new(std::fs::File::open(dir.join("log.parquet")).unwrap())
            .finish()
            .unwrap();
        assert!(df.equals(&log.to_dataframe().unwrap()));
        let e = TrainLog::read_csv(dir.join("none.csv"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("none.csv"), "{e}");
    }
}
