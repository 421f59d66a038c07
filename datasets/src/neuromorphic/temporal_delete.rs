//! `random_temporal_delete` and `RandomTemporalDelete`: the SEW ResNet augmentation that keeps
//! `T_remain` randomly chosen time steps (in order).
use crate::error::{DatasetError, Result};
use tch::{Device, Kind, Tensor};

/// `random_temporal_delete(x_seq, T_remain, batch_first)`: keeps `t_remain` distinct time indices
/// drawn without replacement (seeded by `tch::manual_seed`) and sorted, along dim 1 if
/// `batch_first` (`[N, T, *]`) else dim 0 (`[T, N, *]`).
pub fn random_temporal_delete(x_seq: &Tensor, t_remain: i64, batch_first: bool) -> Result<Tensor> {
    let dim = batch_first as usize;
    let t = *x_seq.size().get(dim).ok_or_else(|| {
        DatasetError::config(
            "random_temporal_delete",
            format!("x_seq {:?} has no time dimension {dim}", x_seq.size()),
        )
    })?;
    if !(0..=t).contains(&t_remain) {
        return Err(DatasetError::config(
            "random_temporal_delete",
            format!("T_remain = {t_remain} must be in 0..={t}"),
        ));
    }
    let chosen = Tensor::f_randperm(t, (Kind::Int64, Device::Cpu))?.f_narrow(0, 0, t_remain)?;
    let (sorted, _) = chosen.f_sort(0, false)?;
    Ok(x_seq.f_index_select(dim as i64, &sorted.f_to_device(x_seq.device())?)?)
}

/// `RandomTemporalDelete(T_remain, batch_first)`: [`random_temporal_delete`] as a transform.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RandomTemporalDelete {
    /// Number of time steps kept.
    pub t_remain: i64,
    /// Whether inputs are `[N, T, *]`.
    pub batch_first: bool,
}

impl RandomTemporalDelete {
    /// A transform keeping `t_remain` steps.
    pub fn new(t_remain: i64, batch_first: bool) -> Self {
        RandomTemporalDelete {
            t_remain,
            batch_first,
        }
    }

    /// Applies [`random_temporal_delete`].
    pub fn forward(&self, x_seq: &Tensor) -> Result<Tensor> {
        random_temporal_delete(x_seq, self.t_remain, self.batch_first)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checklist_247_248_keeps_the_same_sorted_columns_in_every_row() {
        // The docstring example: T = 8 -> 5, batch first, N = 4 rows 0..31.
        let x = Tensor::arange(32, (Kind::Int64, Device::Cpu)).view([4, 8]);
        tch::manual_seed(0);
        let y = RandomTemporalDelete::new(5, true).forward(&x).unwrap();
        assert_eq!(y.size(), [4, 5]);
        let rows: Vec<Vec<i64>> = (0..4)
            .map(|n| Vec::<i64>::try_from(&y.get(n)).unwrap())
            .collect();
        let cols: Vec<i64> = rows[0].clone();
        assert!(cols.windows(2).all(|w| w[0] < w[1]) && cols.iter().all(|&c| (0..8).contains(&c)));
        for (n, row) in rows.iter().enumerate() {
            assert_eq!(
                row,
                &cols.iter().map(|c| c + 8 * n as i64).collect::<Vec<_>>(),
                "same columns in every row"
            );
        }
        // Time first, and seeded reproducibility.
        tch::manual_seed(0);
        let z = random_temporal_delete(&x.tr(), 5, false).unwrap();
        assert!(z.equal(&y.tr()));
        assert!(random_temporal_delete(&x, 9, true).is_err());
        assert!(random_temporal_delete(&Tensor::from(1.0), 1, false).is_err());
    }
}
