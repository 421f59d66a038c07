//! A dataset's class counts as a polars `DataFrame`.
use crate::dataset::Dataset;
use crate::error::{DatasetError, Result};
use polars::prelude::*;

/// One row per class: `label`, `class` (the name, or the label when the dataset has no names),
/// `count` and `fraction` of the samples.
pub fn summary(dataset: &dyn Dataset) -> Result<DataFrame> {
    let targets = dataset.targets()?;
    let names = dataset.classes();
    let classes = names.len().max(targets.iter().max().map_or(0, |&m| m as usize + 1));
    let mut counts = vec![0u32; classes];
    for (i, &y) in targets.iter().enumerate() {
        let slot = usize::try_from(y).ok().and_then(|y| counts.get_mut(y));
        *slot.ok_or_else(|| DatasetError::config("summary", format!("sample {i} has the negative label {y}")))? += 1;
    }
    let total = targets.len().max(1) as f64;
    let df = df!(
        "label" => (0..classes as i64).collect::<Vec<i64>>(),
        "class" => (0..classes).map(|c| names.get(c).cloned().unwrap_or_else(|| c.to_string())).collect::<Vec<String>>(),
        "count" => counts.clone(),
        "fraction" => counts.iter().map(|&c| f64::from(c) / total).collect::<Vec<f64>>(),
    )?;
    Ok(df)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::image_dataset::ImageDataset;

    #[test]
    fn class_counts_table() {
        let d = ImageDataset::new("d", vec![0; 5], [1, 1, 1], vec![2, 0, 2, 2, 0], vec!["a".into(), "b".into(), "c".into()]).unwrap();
        let df = summary(&d).unwrap();
        assert_eq!(df.shape(), (3, 4));
        let counts: Vec<u32> = df.column("count").unwrap().u32().unwrap().into_no_null_iter().collect();
        assert_eq!(counts, vec![2, 0, 3]);
        let fractions: Vec<f64> = df.column("fraction").unwrap().f64().unwrap().into_no_null_iter().collect();
        assert_eq!(fractions, vec![0.4, 0.0, 0.6]);
        assert_eq!(df.column("class").unwrap().str().unwrap().get(2), Some("c"));
    }
}
