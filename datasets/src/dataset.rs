//! The `Dataset` trait: indexed samples with class labels, like `torch.utils.data.Dataset`.
use crate::error::{DatasetError, Result};
use rayon::prelude::*;
use tch::Tensor;

/// One sample: the input and its class label.
pub type Sample = (Tensor, i64);

/// Indexed labelled samples. [`crate::DataLoader`] batches any implementation; samples are
/// loaded in parallel (rayon), so implementations must be `Send + Sync`.
pub trait Dataset: Send + Sync {
    /// Number of samples.
    fn len(&self) -> usize;
    /// The sample at `index`; an index out of range is an error.
    fn get(&self, index: usize) -> Result<Sample>;
    /// True when there are no samples.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// The class names by label (empty when the dataset has none).
    fn classes(&self) -> Vec<String> {
        Vec::new()
    }
    /// Every sample's label, in order (the default loads every sample).
    fn targets(&self) -> Result<Vec<i64>> {
        (0..self.len())
            .into_par_iter()
            .map(|i| self.get(i).map(|(_, y)| y))
            .collect()
    }
    /// The samples at `indices` stacked into `(x [B, *], y [B])` (the default collate: samples
    /// loaded in parallel, then stacked; they must all have one shape).
    fn get_batch(&self, indices: &[usize]) -> Result<(Tensor, Tensor)> {
        if indices.is_empty() {
            return Err(DatasetError::config("Dataset::get_batch", "no indices"));
        }
        let samples: Vec<Sample> = indices
            .par_iter()
            .map(|&i| self.get(i))
            .collect::<Result<_>>()?;
        let labels: Vec<i64> = samples.iter().map(|(_, y)| *y).collect();
        let xs: Vec<Tensor> = samples.into_iter().map(|(x, _)| x).collect();
        let x = Tensor::f_stack(&xs, 0).map_err(|e| {
            DatasetError::config(
                "Dataset::get_batch",
                format!("samples of different shapes cannot be stacked: {e}"),
            )
        })?;
        Ok((x, Tensor::from_slice(&labels)))
    }
}

/// The error for an index past the end of a dataset of `len` samples.
pub fn index_error(dataset: &str, index: usize, len: usize) -> DatasetError {
    DatasetError::config(
        dataset,
        format!("index {index} out of range for {len} samples"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Sample i is the vector [i, 2i] with label i % 3.
    struct Counting(usize);

    impl Dataset for Counting {
        fn len(&self) -> usize {
            self.0
        }
        fn get(&self, index: usize) -> Result<Sample> {
            if index >= self.0 {
                return Err(index_error("Counting", index, self.0));
            }
            Ok((
                Tensor::from_slice(&[index as f32, 2.0 * index as f32]),
                (index % 3) as i64,
            ))
        }
    }

    #[test]
    fn default_collate_and_targets() {
        let d = Counting(5);
        let (x, y) = d.get_batch(&[4, 0, 2]).unwrap();
        assert_eq!(x.size(), vec![3, 2]);
        assert_eq!(
            Vec::<f32>::try_from(&x.flatten(0, -1)).unwrap(),
            vec![4.0, 8.0, 0.0, 0.0, 2.0, 4.0]
        );
        assert_eq!(Vec::<i64>::try_from(&y).unwrap(), vec![1, 0, 2]);
        assert_eq!(d.targets().unwrap(), vec![0, 1, 2, 0, 1]);
        let e = d.get_batch(&[1, 5]).unwrap_err().to_string();
        assert_eq!(e, "Counting: index 5 out of range for 5 samples");
        assert!(d.get_batch(&[]).is_err());
    }
}
