//! Batching variable-length frame sequences: `pad_sequence_collate` and `padded_sequence_mask`.
use crate::error::{DatasetError, Result};
use tch::{Device, Kind, Tensor};

/// `pad_sequence_collate(batch) -> (x_p, y, x_len)`: zero-pads the `[T_i, *]` sequences of the
/// batch to `[N, T_max, *]` (batch first), with the labels `y` `[N]` and the lengths `x_len` `[N]`
/// (both `i64`). The trailing shapes, dtypes and devices of the sequences must agree.
pub fn pad_sequence_collate(batch: &[(Tensor, i64)]) -> Result<(Tensor, Tensor, Tensor)> {
    let what = "pad_sequence_collate";
    let first = batch
        .first()
        .ok_or_else(|| DatasetError::config(what, "empty batch"))?;
    let tail = |x: &Tensor| x.size().get(1..).map(|s| s.to_vec());
    for (i, (x, _)) in batch.iter().enumerate() {
        if x.dim() == 0
            || tail(x) != tail(&first.0)
            || x.kind() != first.0.kind()
            || x.device() != first.0.device()
        {
            return Err(DatasetError::config(
                what,
                format!(
                    "sample {i} is {:?} {:?} on {:?}; every sample must be [T, {:?}] {:?} on {:?}",
                    x.size(),
                    x.kind(),
                    x.device(),
                    tail(&first.0).unwrap_or_default(),
                    first.0.kind(),
                    first.0.device()
                ),
            ));
        }
    }
    let xs: Vec<&Tensor> = batch.iter().map(|b| &b.0).collect();
    let x_p = Tensor::f_pad_sequence(&xs, true, 0.0, "right")?;
    let y = Tensor::f_from_slice(&batch.iter().map(|b| b.1).collect::<Vec<_>>())?;
    let x_len = Tensor::f_from_slice(&batch.iter().map(|b| b.0.size()[0]).collect::<Vec<_>>())?;
    Ok((x_p, y, x_len))
}

/// `padded_sequence_mask(sequence_len, T=None)`: the `[T, N]` bool mask, true where `t <
/// sequence_len[n]`; `T` defaults to the largest length. The mask is on `sequence_len`'s device.
pub fn padded_sequence_mask(sequence_len: &Tensor, t: Option<i64>) -> Result<Tensor> {
    let what = "padded_sequence_mask";
    if sequence_len.dim() != 1
        || !matches!(
            sequence_len.kind(),
            Kind::Int64 | Kind::Int | Kind::Int16 | Kind::Int8 | Kind::Uint8
        )
    {
        return Err(DatasetError::config(
            what,
            format!(
                "sequence_len must be a 1-D integer tensor, got {:?} {:?}",
                sequence_len.size(),
                sequence_len.kind()
            ),
        ));
    }
    let lens = sequence_len.f_to_kind(Kind::Int64)?;
    let t = match t {
        Some(t) if t >= 0 => t,
        Some(t) => {
            return Err(DatasetError::config(
                what,
                format!("T must be >= 0, got {t}"),
            ))
        }
        None if lens.numel() == 0 => 0,
        None => lens
            .f_max()?
            .f_to_device(Device::Cpu)?
            .int64_value(&[])
            .max(0),
    };
    let steps = Tensor::f_arange(t, (Kind::Int64, lens.device()))?.f_unsqueeze(1)?;
    Ok(steps.f_lt_tensor(&lens.f_unsqueeze(0)?)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checklist_245_246_padding_and_mask_as_in_t10() {
        // T10: frames with T = 6, 6, 5, 5, 7 give x [5, 7, 2, H, W] and x_len [6, 6, 5, 5, 7].
        let batch: Vec<(Tensor, i64)> = [6i64, 6, 5, 5, 7]
            .iter()
            .enumerate()
            .map(|(i, &t)| {
                (
                    Tensor::ones([t, 2, 3, 4], (Kind::Float, Device::Cpu)),
                    i as i64,
                )
            })
            .collect();
        let (x, y, len) = pad_sequence_collate(&batch).unwrap();
        assert_eq!(x.size(), [5, 7, 2, 3, 4]);
        assert_eq!(Vec::<i64>::try_from(&len).unwrap(), [6, 6, 5, 5, 7]);
        assert_eq!(Vec::<i64>::try_from(&y).unwrap(), [0, 1, 2, 3, 4]);
        assert_eq!(
            x.get(2).get(5).sum(Kind::Float).double_value(&[]),
            0.0,
            "padding is zero"
        );
        assert_eq!(x.get(4).get(6).sum(Kind::Float).double_value(&[]), 24.0);
        // The mask of T10, transposed to [N, T].
        let m = padded_sequence_mask(&len, None).unwrap();
        assert_eq!(m.size(), [7, 5]);
        let rows: Vec<Vec<i64>> = (0..5)
            .map(|n| Vec::<i64>::try_from(&m.tr().get(n).to_kind(Kind::Int64)).unwrap())
            .collect();
        assert_eq!(
            rows,
            [
                vec![1, 1, 1, 1, 1, 1, 0],
                vec![1, 1, 1, 1, 1, 1, 0],
                vec![1, 1, 1, 1, 1, 0, 0],
                vec![1, 1, 1, 1, 1, 0, 0],
                vec![1; 7]
            ]
        );
        // The docstring example: lengths [2, 3, 4].
        let m = padded_sequence_mask(&Tensor::from_slice(&[2i64, 3, 4]), None).unwrap();
        assert_eq!(
            Vec::<i64>::try_from(&m.flatten(0, -1).to_kind(Kind::Int64)).unwrap(),
            [1, 1, 1, 1, 1, 1, 0, 1, 1, 0, 0, 1]
        );
        assert_eq!(
            padded_sequence_mask(&Tensor::from_slice(&[1i64]), Some(3))
                .unwrap()
                .size(),
            [3, 1]
        );
        // Bad input errors instead of panicking.
        let bad = vec![
            (Tensor::ones([2, 3], (Kind::Float, Device::Cpu)), 0),
            (Tensor::ones([2, 4], (Kind::Float, Device::Cpu)), 1),
        ];
        assert!(pad_sequence_collate(&bad)
            .unwrap_err()
            .to_string()
            .contains("sample 1"));
        assert!(pad_sequence_collate(&[]).is_err());
        assert!(padded_sequence_mask(&Tensor::from_slice(&[1.5f32]), None).is_err());
    }
}
