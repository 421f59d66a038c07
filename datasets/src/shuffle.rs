//! Seeded shuffling: SplitMix64 and a Fisher-Yates permutation, independent of libtorch's RNG
//! and of thread timing, so a seed gives the same order on every machine.

/// The SplitMix64 generator (Steele, Lea and Flood 2014).
#[derive(Clone, Debug)]
pub struct SplitMix64 {
    state: u64,
}

impl SplitMix64 {
    /// A generator starting from `seed`.
    pub fn new(seed: u64) -> Self {
        SplitMix64 { state: seed }
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `0..bound` (`bound > 0`), by the multiply-shift reduction.
    pub fn below(&mut self, bound: usize) -> usize {
        ((u128::from(self.next_u64()) * bound as u128) >> 64) as usize
    }
}

/// A seed for stream `stream` (an epoch, a worker) derived from `seed`, uncorrelated with the
/// seeds of the other streams.
pub fn derive_seed(seed: u64, stream: u64) -> u64 {
    SplitMix64::new(seed ^ SplitMix64::new(stream).next_u64()).next_u64()
}

/// A permutation of `0..n` (Fisher-Yates, from the last position down) determined by `seed`.
pub fn randperm(n: usize, seed: u64) -> Vec<usize> {
    let mut rng = SplitMix64::new(seed);
    let mut p: Vec<usize> = (0..n).collect();
    for i in (1..n).rev() {
        let j = rng.below(i + 1);
        p.swap(i, j);
    }
    p
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splitmix64_reference_values() {
        // The reference outputs of SplitMix64 seeded with 0 (as in Vigna's splitmix64.c).
        let mut r = SplitMix64::new(0);
        assert_eq!(r.next_u64(), 0xE220_A839_7B1D_CDAF);
        assert_eq!(r.next_u64(), 0x6E78_9E6A_A1B9_65F4);
        assert_eq!(r.next_u64(), 0x06C4_5D18_8009_454F);
    }

    #[test]
    fn permutation_is_fixed_and_complete() {
        let p = randperm(10, 42);
        assert_eq!(p, randperm(10, 42));
        assert_ne!(p, randperm(10, 43));
        let mut sorted = p.clone();
        sorted.sort();
        assert_eq!(sorted, (0..10).collect::<Vec<_>>());
        // Hand-run Fisher-Yates with the first outputs of SplitMix64(0): for n = 2 the single
        // swap uses j = (0xE220A8397B1DCDAF * 2) >> 64 = 1, so [0, 1] stays [0, 1].
        assert_eq!(randperm(2, 0), vec![0, 1]);
        assert_ne!(derive_seed(7, 0), derive_seed(7, 1));
        assert!(randperm(0, 1).is_empty());
    }
}
