//! Where a monitor keeps what it recorded: a capped list of records or running statistics, and
//! their export to polars `DataFrame`s, CSV and Parquet.
use crate::error::{Result, SjError};
use polars::prelude::{Column, CsvWriter, DataFrame, ParquetWriter, PolarsError, SerWriter};
use std::collections::{BTreeMap, VecDeque};
use std::fs::File;
use std::path::Path;
use tch::{Device, Kind, Tensor};

/// How many records a monitor keeps unless told otherwise (the oldest are dropped first).
pub const DEFAULT_MAX_RECORDS: usize = 4096;

/// One recorded tensor.
pub(super) struct Record {
    /// Index into the monitor's `monitored_layers`.
    pub layer: usize,
    /// The layer's record number.
    pub step: i64,
    /// Taken in step mode `'m'` (dim 0 is time).
    pub multi_step: bool,
    /// The detached value.
    pub tensor: Tensor,
}

impl Record {
    /// The record's value per time step: the mean over every dimension but time for a
    /// multi-step record, else one value, the mean of everything.
    fn per_time(&self) -> Result<Vec<f64>> {
        let t = self
            .tensor
            .f_to_kind(Kind::Double)?
            .f_to_device(Device::Cpu)?;
        let rows = if self.multi_step && t.dim() >= 1 {
            t.size()[0]
        } else {
            1
        };
        if rows == 0 {
            return Ok(Vec::new());
        }
        let per_row = t.numel() as i64 / rows;
        if per_row == 0 {
            return Ok(vec![f64::NAN; rows as usize]);
        }
        let means = t
            .f_reshape([rows, per_row])?
            .f_mean_dim(&[1i64][..], false, Kind::Double)?;
        Ok(Vec::<f64>::try_from(&means)?)
    }
}

/// Count, sum, min and max of the values seen at one (layer, time).
#[derive(Clone, Copy, Debug, PartialEq)]
struct Stat {
    count: u64,
    sum: f64,
    min: f64,
    max: f64,
}

/// Running statistics per (layer, time).
#[derive(Default)]
pub(super) struct Summary(BTreeMap<(usize, i64), Stat>);

impl Summary {
    fn add(&mut self, record: &Record) -> Result<()> {
        for (t, v) in record.per_time()?.into_iter().enumerate() {
            let s = self.0.entry((record.layer, t as i64)).or_insert(Stat {
                count: 0,
                sum: 0.0,
                min: v,
                max: v,
            });
            s.count += 1;
            s.sum += v;
            s.min = s.min.min(v);
            s.max = s.max.max(v);
        }
        Ok(())
    }

    fn to_dataframe(&self, layers: &[String]) -> Result<DataFrame> {
        let rows = self.0.iter();
        let df = DataFrame::new_infer_height(vec![
            Column::new(
                "layer".into(),
                rows.clone()
                    .map(|((l, _), _)| layers[*l].as_str())
                    .collect::<Vec<_>>(),
            ),
            Column::new(
                "time".into(),
                rows.clone().map(|((_, t), _)| *t).collect::<Vec<_>>(),
            ),
            Column::new(
                "count".into(),
                rows.clone().map(|(_, s)| s.count).collect::<Vec<_>>(),
            ),
            Column::new(
                "mean".into(),
                rows.clone()
                    .map(|(_, s)| s.sum / s.count as f64)
                    .collect::<Vec<_>>(),
            ),
            Column::new(
                "min".into(),
                rows.clone().map(|(_, s)| s.min).collect::<Vec<_>>(),
            ),
            Column::new("max".into(), rows.map(|(_, s)| s.max).collect::<Vec<_>>()),
        ]);
        df.map_err(frame_error("summary"))
    }
}

/// Kept records (capped) or only running statistics.
pub(super) enum Store {
    /// The latest `max_records` records; `dropped` counts the ones pushed out.
    Keep {
        records: VecDeque<Record>,
        max_records: usize,
        dropped: u64,
    },
    /// Summary mode.
    Summary(Summary),
}

impl Store {
    pub fn new() -> Self {
        Store::Keep {
            records: VecDeque::new(),
            max_records: DEFAULT_MAX_RECORDS,
            dropped: 0,
        }
    }

    pub fn push(&mut self, record: Record) -> Result<()> {
        match self {
            Store::Keep {
                records,
                max_records,
                dropped,
            } => {
                records.push_back(record);
                while records.len() > *max_records {
                    records.pop_front();
                    *dropped += 1;
                }
                Ok(())
            }
            Store::Summary(summary) => summary.add(&record),
        }
    }

    /// The kept records, oldest first (none in summary mode).
    pub fn records(&self) -> impl Iterator<Item = &Record> {
        let kept = match self {
            Store::Keep { records, .. } => Some(records.iter()),
            Store::Summary(_) => None,
        };
        kept.into_iter().flatten()
    }

    /// The cap on records (also bounds the gradient probes waiting for `backward`).
    pub fn max_records(&self) -> usize {
        match self {
            Store::Keep { max_records, .. } => *max_records,
            Store::Summary(_) => DEFAULT_MAX_RECORDS,
        }
    }

    pub fn dropped(&self) -> u64 {
        match self {
            Store::Keep { dropped, .. } => *dropped,
            Store::Summary(_) => 0,
        }
    }

    pub fn clear(&mut self) {
        match self {
            Store::Keep {
                records, dropped, ..
            } => {
                records.clear();
                *dropped = 0;
            }
            Store::Summary(summary) => summary.0.clear(),
        }
    }

    pub fn set_max_records(&mut self, max: usize) -> Result<()> {
        if max == 0 {
            return Err(SjError::config("monitor", "max_records must be at least 1"));
        }
        match self {
            Store::Keep {
                records,
                max_records,
                dropped,
            } => {
                *max_records = max;
                while records.len() > max {
                    records.pop_front();
                    *dropped += 1;
                }
                Ok(())
            }
            Store::Summary(_) => Err(SjError::config(
                "monitor",
                "a monitor in summary mode keeps no records to cap",
            )),
        }
    }

    /// Switches to summary mode, folding the kept records into the statistics.
    pub fn switch_to_summary(&mut self) -> Result<()> {
        let summary = self.summarise()?;
        *self = Store::Summary(summary);
        Ok(())
    }

    fn summarise(&self) -> Result<Summary> {
        match self {
            Store::Keep { records, .. } => {
                let mut summary = Summary::default();
                for r in records {
                    summary.add(r)?;
                }
                Ok(summary)
            }
            Store::Summary(summary) => Ok(Summary(summary.0.clone())),
        }
    }

    pub fn summary(&self, layers: &[String]) -> Result<DataFrame> {
        self.summarise()?.to_dataframe(layers)
    }

    pub fn to_dataframe(&self, layers: &[String], statistic: &str) -> Result<DataFrame> {
        if let Store::Summary(_) = self {
            return Err(SjError::config(
                "monitor",
                "a monitor in summary mode keeps no records; use summary()",
            ));
        }
        let (mut layer, mut step, mut time, mut value) =
            (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        for r in self.records() {
            for (t, v) in r.per_time()?.into_iter().enumerate() {
                layer.push(layers[r.layer].as_str());
                step.push(r.step);
                time.push(t as i64);
                value.push(v);
            }
        }
        DataFrame::new_infer_height(vec![
            Column::new("layer".into(), layer),
            Column::new("step".into(), step),
            Column::new("time".into(), time),
            Column::new(statistic.into(), value),
        ])
        .map_err(frame_error("monitor"))
    }
}

/// Maps a polars error to an [`SjError`] naming `what`.
pub(crate) fn frame_error(what: &str) -> impl Fn(PolarsError) -> SjError + '_ {
    move |e| SjError::config(what, e)
}

fn create(path: &Path) -> Result<File> {
    File::create(path).map_err(|source| SjError::Io {
        path: path.display().to_string(),
        source,
    })
}

/// Writes `df` as CSV (with a header) to `path`.
pub(crate) fn write_csv(df: &mut DataFrame, path: &Path) -> Result<()> {
    CsvWriter::new(create(path)?)
        .finish(df)
        .map_err(|e| frame_error(&path.display().to_string())(e))
}

/// Writes `df` as Parquet to `path`.
pub(crate) fn write_parquet(df: &mut DataFrame, path: &Path) -> Result<()> {
    ParquetWriter::new(create(path)?)
        .finish(df)
        .map(|_| ())
        .map_err(|e| frame_error(&path.display().to_string())(e))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(layer: usize, step: i64, multi_step: bool, values: &[f32], shape: &[i64]) -> Record {
        Record {
            layer,
            step,
            multi_step,
            tensor: Tensor::from_slice(values).view(shape),
        }
    }

    #[test]
    fn per_time_means_over_all_but_time() {
        // [T=2, N=1, 2] spikes: rates 0.5 and 1.0; single-step and scalar records give one value
        assert_eq!(
            record(0, 0, true, &[1.0, 0.0, 1.0, 1.0], &[2, 1, 2])
                .per_time()
                .unwrap(),
            [0.5, 1.0]
        );
        assert_eq!(
            record(0, 0, false, &[1.0, 0.0, 1.0, 1.0], &[2, 2])
                .per_time()
                .unwrap(),
            [0.75]
        );
        assert_eq!(record(0, 0, true, &[3.0], &[]).per_time().unwrap(), [3.0]);
        assert!(record(0, 0, true, &[], &[0, 4])
            .per_time()
            .unwrap()
            .is_empty());
    }

    #[test]
    fn cap_drops_the_oldest_and_summary_streams() {
        let mut store = Store::new();
        store.set_max_records(2).unwrap();
        for step in 0..5 {
            store
                .push(record(0, step, true, &[step as f32, 0.0], &[2]))
                .unwrap();
        }
        assert_eq!(store.records().map(|r| r.step).collect::<Vec<_>>(), [3, 4]);
        assert_eq!(store.dropped(), 3);
        assert!(store.set_max_records(0).is_err());
        // summary of the two kept records: time 0 saw 3 and 4, time 1 saw 0 twice
        store.switch_to_summary().unwrap();
        store.push(record(0, 5, true, &[8.0, 2.0], &[2])).unwrap();
        assert_eq!(store.records().count(), 0);
        let df = store.summary(&["1".to_string()]).unwrap();
        let col = |name: &str| df.column(name).unwrap().as_materialized_series().clone();
        assert_eq!(
            col("count")
                .u64()
                .unwrap()
                .into_no_null_iter()
                .collect::<Vec<_>>(),
            [3, 3]
        );
        assert_eq!(
            col("mean")
                .f64()
                .unwrap()
                .into_no_null_iter()
                .collect::<Vec<_>>(),
            [5.0, 2.0 / 3.0]
        );
        assert_eq!(
            col("min")
                .f64()
                .unwrap()
                .into_no_null_iter()
                .collect::<Vec<_>>(),
            [3.0, 0.0]
        );
        assert_eq!(
            col("max")
                .f64()
                .unwrap()
                .into_no_null_iter()
                .collect::<Vec<_>>(),
            [8.0, 2.0]
        );
        let err = store
            .to_dataframe(&["1".to_string()], "output")
            .unwrap_err()
            .to_string();
        assert!(err.contains("summary()"), "{err}");
    }
}
