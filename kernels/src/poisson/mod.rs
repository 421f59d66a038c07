//! Fused Poisson encoding on the CPU: `spike = (u ≤ p)` with `u` uniform in `[0, 1)`, one pass
//! over the probabilities that draws, compares, writes the spike and checks the range together.
//!
//! libtorch's `rand_like(p).le(p)` takes three passes and a 4-byte random number per element from
//! a sequential Mersenne Twister; here `u` comes from a keyed counter-based hash (two rounds of
//! the `lowbias32` integer hash, 24 bits of mantissa, the resolution of `torch.rand`), so every
//! chunk of the output is drawn independently and in parallel, the same for any thread count.
//! The key is drawn from libtorch's default generator, so `tch::manual_seed` makes runs
//! reproducible as before (the stream itself differs from `torch.rand`'s).
//!
//! On CUDA, and for dtypes other than float32, callers keep libtorch's path (`Ok(None)`).
use crate::KernelError;
use rayon::prelude::*;
use tch::{Device, Kind, Tensor};

/// Elements per rayon task; also the unit of the counter, so results do not depend on threads.
const CHUNK: usize = 1 << 14;

/// SplitMix64's finaliser: a well-mixed 64-bit key per chunk.
fn mix64(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Chris Wellons' `lowbias32` integer hash (32-bit multiplies: vectorises).
#[inline(always)]
fn lowbias32(mut x: u32) -> u32 {
    x ^= x >> 16;
    x = x.wrapping_mul(0x7FEB_352D);
    x ^= x >> 15;
    x = x.wrapping_mul(0x846C_A68B);
    x ^ (x >> 16)
}

/// The uniform number of counter `i` under key `(k0, k1)`: a multiple of 2^-24 in `[0, 1)`.
#[inline(always)]
fn uniform(i: u32, k0: u32, k1: u32) -> f32 {
    (lowbias32(lowbias32(i ^ k0) ^ k1) >> 8) as f32 * (1.0 / 16_777_216.0)
}

/// Encodes `out.len() / p.len()` repetitions of the probabilities `p` (so a sequence
/// `p.expand([T, ...])` needs no copy of `p`) into `out`. Returns the first probability outside
/// `[0, 1]` (or NaN) as the error; `out` is then unspecified. Small outputs (up to 4 chunks) are
/// encoded on the calling thread.
pub fn encode_cpu(p: &[f32], seed: u64, out: &mut [f32]) -> Result<(), f32> {
    let n = p.len();
    assert!(
        n > 0 && out.len() % n == 0,
        "output must hold whole repetitions of the input"
    );
    let all_inside = if out.len() <= 4 * CHUNK {
        out.chunks_mut(CHUNK)
            .enumerate()
            .all(|(c, chunk)| encode_chunk(p, seed, c, chunk))
    } else {
        out.par_chunks_mut(CHUNK)
            .enumerate()
            .map(|(c, chunk)| encode_chunk(p, seed, c, chunk))
            .reduce(|| true, |a, b| a & b)
    };
    match all_inside {
        true => Ok(()),
        false => Err(p
            .iter()
            .copied()
            .find(|v| !(0.0..=1.0).contains(v))
            .unwrap_or(f32::NAN)),
    }
}

/// Chunk `c` of the output; false if a probability is outside `[0, 1]`. The hash is integer
/// multiplies: with AVX2 (checked at run time) eight lanes at a time.
fn encode_chunk(p: &[f32], seed: u64, c: usize, chunk: &mut [f32]) -> bool {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        // SAFETY: the CPU has AVX2.
        return unsafe { encode_chunk_avx2(p, seed, c, chunk) };
    }
    encode_chunk_body(p, seed, c, chunk)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn encode_chunk_avx2(p: &[f32], seed: u64, c: usize, chunk: &mut [f32]) -> bool {
    encode_chunk_body(p, seed, c, chunk)
}

#[inline(always)]
fn encode_chunk_body(p: &[f32], seed: u64, c: usize, chunk: &mut [f32]) -> bool {
    let n = p.len();
    let key = mix64(seed ^ mix64(c as u64));
    let (k0, k1) = (key as u32, (key >> 32) as u32);
    let (mut start, mut done, mut inside) = ((c * CHUNK) % n, 0, true);
    while done < chunk.len() {
        let len = (n - start).min(chunk.len() - done);
        let src = &p[start..start + len];
        for (j, (o, &pr)) in chunk[done..done + len].iter_mut().zip(src).enumerate() {
            let u = uniform((done + j) as u32, k0, k1);
            *o = if u <= pr { 1.0 } else { 0.0 };
            inside &= (0.0..=1.0).contains(&pr);
        }
        done += len;
        start = 0;
    }
    inside
}

/// `(rand_like(x) ≤ x).to(x)` for a float32 CPU tensor `x` of probabilities, or `Ok(None)` where
/// this kernel does not apply (other devices or dtypes). A leading dimension of stride 0 (an
/// `expand`ed image sequence) is encoded without materialising the copies. Errors when a value
/// is outside `[0, 1]`.
pub fn poisson_encode(x: &Tensor) -> Result<Option<Tensor>, KernelError> {
    if x.device() != Device::Cpu || x.kind() != Kind::Float || x.numel() == 0 {
        return Ok(None);
    }
    let size = x.size();
    let base = match x.stride().first() {
        Some(0) => x.select(0, 0),
        _ => x.shallow_clone(),
    }
    .contiguous();
    let seed = Tensor::f_randint(i64::MAX, [1], (Kind::Int64, Device::Cpu))
        .map_err(|e| KernelError::Input(e.to_string()))?
        .int64_value(&[0]) as u64;
    let out = Tensor::empty(size.as_slice(), (Kind::Float, Device::Cpu));
    // SAFETY: `base` is a contiguous float32 CPU tensor and `out` a fresh one of
    // `size[0] * base.numel()` (or `base.numel()`) elements; both outlive the slices.
    let (p, o) = unsafe {
        (
            std::slice::from_raw_parts(base.data_ptr() as *const f32, base.numel()),
            std::slice::from_raw_parts_mut(out.data_ptr() as *mut f32, out.numel()),
        )
    };
    encode_cpu(p, seed, o).map_err(|v| {
        KernelError::Input(format!(
            "Poisson encoding needs probabilities in [0, 1], got {v}"
        ))
    })?;
    Ok(Some(out))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encode(p: &[f32], reps: usize, seed: u64) -> Vec<f32> {
        let mut out = vec![-1.0; p.len() * reps];
        encode_cpu(p, seed, &mut out).unwrap();
        out
    }

    #[test]
    fn firing_rates_match_the_probabilities() {
        // 2^20 draws per probability: the rate is within 5 standard deviations of p.
        let probs = [0.0f32, 0.05, 0.3, 0.5, 0.9, 1.0];
        let n = 1 << 20;
        for &pr in &probs {
            let out = encode(&vec![pr; n], 1, 7);
            let rate = out.iter().sum::<f32>() as f64 / n as f64;
            let sd = (pr as f64 * (1.0 - pr as f64) / n as f64).sqrt();
            assert!(
                (rate - pr as f64).abs() <= 5.0 * sd + 1e-6,
                "p {pr}: rate {rate}"
            );
            assert!(out.iter().all(|&s| s == 0.0 || s == 1.0));
        }
    }

    #[test]
    fn draws_are_uncorrelated_across_neighbours_chunks_and_repetitions() {
        // p = 0.5 over 2^18 elements, repeated 4 times: neighbouring elements, elements a chunk
        // apart and the same element in successive repetitions agree about half the time.
        let n = 1 << 18;
        let out = encode(&vec![0.5; n], 4, 11);
        let agreement = |lag: usize| {
            let same = (0..out.len() - lag)
                .filter(|&i| out[i] == out[i + lag])
                .count();
            same as f64 / (out.len() - lag) as f64
        };
        let sd = 0.5 / ((out.len() - n) as f64).sqrt();
        for lag in [1, 2, 31, CHUNK, CHUNK + 1, n] {
            assert!(
                (agreement(lag) - 0.5).abs() < 5.0 * sd,
                "lag {lag}: {}",
                agreement(lag)
            );
        }
    }

    #[test]
    fn seeded_and_independent_of_the_thread_count() {
        let p: Vec<f32> = (0..100_003).map(|i| (i % 101) as f32 / 100.0).collect();
        let a = encode(&p, 3, 5);
        let one_thread = rayon::ThreadPoolBuilder::new()
            .num_threads(1)
            .build()
            .unwrap();
        assert_eq!(a, one_thread.install(|| encode(&p, 3, 5)));
        assert_ne!(a, encode(&p, 3, 6));
        // the repetitions are drawn independently
        assert_ne!(a[..p.len()], a[p.len()..2 * p.len()]);
    }

    #[test]
    fn out_of_range_values_are_reported() {
        let mut out = vec![0.0; 6];
        assert_eq!(encode_cpu(&[0.5, 1.5, 0.2], 1, &mut out), Err(1.5));
        assert!(encode_cpu(&[0.5, f32::NAN, 0.2], 1, &mut out)
            .unwrap_err()
            .is_nan());
        assert_eq!(encode_cpu(&[0.5, 0.5, -0.25], 1, &mut out), Err(-0.25));
    }

    #[test]
    fn tensors_expanded_sequences_and_seeding() {
        let img = Tensor::rand([2, 5, 7], (Kind::Float, Device::Cpu));
        let seq = img.unsqueeze(0).expand([6, -1, -1, -1], false);
        tch::manual_seed(3);
        let a = poisson_encode(&seq).unwrap().unwrap();
        tch::manual_seed(3);
        let b = poisson_encode(&seq.contiguous()).unwrap().unwrap();
        assert_eq!(a.size(), vec![6, 2, 5, 7]);
        // the stride-0 path and the copied input draw the same spikes
        assert!(a.equal(&b));
        assert!(a.eq(0.0).logical_or(&a.eq(1.0)).all().int64_value(&[]) != 0);
        // certain and impossible spikes
        let sure = poisson_encode(&Tensor::ones([3, 4], (Kind::Float, Device::Cpu)))
            .unwrap()
            .unwrap();
        assert_eq!(sure.sum(Kind::Float).double_value(&[]), 12.0);
        // other dtypes fall back to libtorch
        assert!(poisson_encode(&img.to_kind(Kind::Double))
            .unwrap()
            .is_none());
        let err = poisson_encode(&(img + 1.0)).unwrap_err().to_string();
        assert!(err.contains("probabilities in [0, 1]"), "{err}");
    }
}
