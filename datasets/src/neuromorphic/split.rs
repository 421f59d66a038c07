//! `split_to_train_test_set`: a per-class split for datasets without an official one.
use crate::error::{DatasetError, Result};
use std::collections::BTreeMap;

/// `split_to_train_test_set(train_ratio, origin_dataset, num_classes, random_split)` on the labels
/// of the dataset: for each class, the first `ceil(n_c · train_ratio)` sample indices go to the
/// train set and the rest to the test set (after shuffling within the class when `random_split`,
/// seeded by `tch::manual_seed`). Returns `(train_indices, test_indices)`, class by class.
pub fn split_to_train_test_set(
    train_ratio: f64,
    labels: &[i64],
    num_classes: usize,
    random_split: bool,
) -> Result<(Vec<usize>, Vec<usize>)> {
    let what = "split_to_train_test_set";
    if !(0.0..=1.0).contains(&train_ratio) {
        return Err(DatasetError::config(
            what,
            format!("train_ratio must be in [0, 1], got {train_ratio}"),
        ));
    }
    // Only the classes that occur, in class order (`num_classes` is a bound, not a size to allocate).
    let mut per_class: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
    for (i, &y) in labels.iter().enumerate() {
        let c = usize::try_from(y).ok().filter(|&c| c < num_classes);
        per_class
            .entry(c.ok_or_else(|| {
                DatasetError::config(
                    what,
                    format!("label {y} of sample {i} is not in 0..{num_classes}"),
                )
            })?)
            .or_default()
            .push(i);
    }
    let (mut train, mut test) = (Vec::new(), Vec::new());
    for mut idx in per_class.into_values() {
        if random_split && !idx.is_empty() {
            let order = Vec::<i64>::try_from(&tch::Tensor::f_randperm(
                idx.len() as i64,
                (tch::Kind::Int64, tch::Device::Cpu),
            )?)?;
            idx = order.iter().map(|&k| idx[k as usize]).collect();
        }
        let pos = (idx.len() as f64 * train_ratio).ceil() as usize;
        train.extend_from_slice(&idx[..pos.min(idx.len())]);
        test.extend_from_slice(&idx[pos.min(idx.len())..]);
    }
    Ok((train, test))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checklist_244_first_ceil_fraction_of_each_class() {
        // Class 0 has samples 0, 2, 4 (ceil(3 · 0.5) = 2 train), class 1 has 1, 3 (1 train).
        let labels = [0, 1, 0, 1, 0];
        assert_eq!(
            split_to_train_test_set(0.5, &labels, 2, false).unwrap(),
            (vec![0, 2, 1], vec![4, 3])
        );
        tch::manual_seed(3);
        let (train, test) = split_to_train_test_set(0.5, &labels, 2, true).unwrap();
        let mut all: Vec<usize> = train.iter().chain(&test).copied().collect();
        all.sort();
        assert_eq!((train.len(), all), (3, vec![0, 1, 2, 3, 4]));
        assert!(split_to_train_test_set(0.5, &[0, 2], 2, false)
            .unwrap_err()
            .to_string()
            .contains("label 2 of sample 1"));
        assert!(split_to_train_test_set(1.5, &labels, 2, false).is_err());
        // num_classes bounds the labels; it is not a size to allocate.
        assert_eq!(
            split_to_train_test_set(0.5, &labels, 1 << 50, false).unwrap(),
            (vec![0, 2, 1], vec![4, 3])
        );
    }
}
