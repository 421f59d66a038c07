//! A dataset's class counts as a polars `DataFrame`.
use crate::dataset::Dataset;
use crate::error::{DatasetError, Result};
use polars::prelude::*;
use std::collections::BTreeMap;

/// One row per class, in label order: every named class (with count 0 when it has no sample) and
/// every other label that occurs. Columns `label`, `class` (the name, or the label when the class
/// has no name), `count` and `fraction` of the samples.
pub fn summary(dataset: &dyn Dataset) -> Result<DataFrame> {
    let targets = dataset.targets()?;
    let names = dataset.classes();
    let mut counts: BTreeMap<i64, u32> = (0..names.len() as i64).map(|c| (c, 0)).collect();
    for (i, &y) in targets.iter().enumerate() {
        if y < 0 {
            return Err(DatasetError::config(
                "summary",
                format!("sample {i} has the negative label {y}"),
            ));
        }
        *counts.entry(y).or_default() += 1;
    }
    let total = targets.len().max(1) as f64;
    let name = |c: i64| {
        usize::try_from(c)
            .ok()
            .and_then(|c| names.get(c).cloned())
            .unwrap_or_else(|| c.to_string())
    };
    let df = df!(
        "label" => counts.keys().copied().collect::<Vec<i64>>(),
        "class" => counts.keys().map(|&c| name(c)).collect::<Vec<String>>(),
        "count" => counts.values().copied().collect::<Vec<u32>>(),
        "fraction" => counts.values().map(|&c| f64::from(c) / total).collect::<Vec<f64>>(),
    )?;
    Ok(df)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::image_dataset::ImageDataset;

    #[test]
    fn class_counts_table() {
        let d = ImageDataset::new(
            "d",
            vec![0; 5],
            [1, 1, 1],
            vec![2, 0, 2, 2, 0],
            vec!["a".into(), "b".into(), "c".into()],
        )
        .unwrap();
        let df = summary(&d).unwrap();
        assert_eq!(df.shape(), (3, 4));
        let counts: Vec<u32> = df
            .column("count")
            .unwrap()
            .u32()
            .unwrap()
            .into_no_null_iter()
            .collect();
        assert_eq!(counts, vec![2, 0, 3]);
        let fractions: Vec<f64> = df
            .column("fraction")
            .unwrap()
            .f64()
            .unwrap()
            .into_no_null_iter()
            .collect();
        assert_eq!(fractions, vec![0.4, 0.0, 0.6]);
        assert_eq!(df.column("class").unwrap().str().unwrap().get(2), Some("c"));
    }

    /// Unnamed samples with labels 1, 2^40 and 1.
    struct FarLabels;

    impl Dataset for FarLabels {
        fn len(&self) -> usize {
            3
        }
        fn get(&self, index: usize) -> Result<(tch::Tensor, i64)> {
            Ok((tch::Tensor::from(0f32), [1, 1 << 40, 1][index]))
        }
    }

    #[test]
    fn one_row_per_label_that_occurs_however_large() {
        let df = summary(&FarLabels).unwrap();
        let labels: Vec<i64> = df
            .column("label")
            .unwrap()
            .i64()
            .unwrap()
            .into_no_null_iter()
            .collect();
        assert_eq!(labels, [1, 1 << 40]);
        let counts: Vec<u32> = df
            .column("count")
            .unwrap()
            .u32()
            .unwrap()
            .into_no_null_iter()
            .collect();
        assert_eq!(counts, [2, 1]);
        assert_eq!(
            df.column("class").unwrap().str().unwrap().get(1),
            Some("1099511627776")
        );
    }
}
