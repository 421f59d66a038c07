//! numpy's `.npy` arrays and `.npz` archives (`np.savez` / `np.savez_compressed`), the format of
//! SpikingJelly's `events_np` (keys `t`, `x`, `y`, `p`) and frame caches (key `frames`).
//!
//! Reads the numeric dtypes `b1 u1 i1 u2 i2 u4 i4 u8 i8 f2 f4 f8` in either byte order, C order
//! (Fortran order is accepted for 0-D and 1-D arrays only). Writes little-endian, C order.
//!
//! The reader trusts nothing in the file: the header must parse, the dtype must be one of the
//! above, and the body must hold exactly `shape.product() · itemsize` bytes, so a lying header is
//! an error naming the file and byte offset, never a read past the data.
use super::io::{read_file, write_atomic};
use super::zip;
use crate::error::{DatasetError, Result};
use std::path::Path;
use tch::Tensor;

/// A number that decodes from its bytes in either byte order.
pub(crate) trait FromBytes: Sized {
    /// Bytes per number.
    const WIDTH: usize;
    /// The number in `b` (`WIDTH` bytes), big-endian when `big`.
    fn from_bytes(b: &[u8], big: bool) -> Self;
}

macro_rules! from_bytes {
    ($($t:ty),*) => {$(
        impl FromBytes for $t {
            const WIDTH: usize = std::mem::size_of::<$t>();
            fn from_bytes(b: &[u8], big: bool) -> Self {
                let a = b.try_into().unwrap_or([0; std::mem::size_of::<$t>()]);
                if big { <$t>::from_be_bytes(a) } else { <$t>::from_le_bytes(a) }
            }
        }
    )*};
}
from_bytes!(u16, i16, u32, i32, u64, i64, f32, f64);

/// `data` as numbers of type `T` in the given byte order (a trailing partial number is ignored).
pub(crate) fn numbers<T: FromBytes>(data: &[u8], big: bool) -> Vec<T> {
    data.chunks_exact(T::WIDTH)
        .map(|c| T::from_bytes(c, big))
        .collect()
}

/// The values of an array, by dtype.
#[derive(Clone, Debug, PartialEq)]
pub enum NpyData {
    /// `u1` (and `b1`, read as 0/1).
    U8(Vec<u8>),
    /// `i1`.
    I8(Vec<i8>),
    /// `u2`.
    U16(Vec<u16>),
    /// `i2`.
    I16(Vec<i16>),
    /// `u4`.
    U32(Vec<u32>),
    /// `i4`.
    I32(Vec<i32>),
    /// `u8`.
    U64(Vec<u64>),
    /// `i8`.
    I64(Vec<i64>),
    /// `f4`.
    F32(Vec<f32>),
    /// `f8`.
    F64(Vec<f64>),
    /// `f2`: IEEE 754 half-precision numbers, as their bit patterns.
    F16(Vec<u16>),
}

/// An n-dimensional array: shape plus values in C order.
#[derive(Clone, Debug, PartialEq)]
pub struct NpyArray {
    /// The shape (empty for a scalar).
    pub shape: Vec<usize>,
    /// The values, `shape.iter().product()` of them.
    pub data: NpyData,
}

macro_rules! each_dtype {
    ($data:expr, $v:ident => $body:expr) => {
        match $data {
            NpyData::U8($v) => $body,
            NpyData::I8($v) => $body,
            NpyData::U16($v) => $body,
            NpyData::I16($v) => $body,
            NpyData::U32($v) => $body,
            NpyData::I32($v) => $body,
            NpyData::U64($v) => $body,
            NpyData::I64($v) => $body,
            NpyData::F32($v) => $body,
            NpyData::F64($v) => $body,
            NpyData::F16($v) => $body,
        }
    };
}

impl NpyArray {
    /// A 1-D array.
    pub fn vector(data: NpyData) -> Self {
        let n = each_dtype!(&data, v => v.len());
        NpyArray {
            shape: vec![n],
            data,
        }
    }

    /// Number of values.
    pub fn len(&self) -> usize {
        each_dtype!(&self.data, v => v.len())
    }

    /// Whether there are no values.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// numpy's dtype string (`'<u4'`, ...).
    pub fn descr(&self) -> &'static str {
        match self.data {
            NpyData::U8(_) => "|u1",
            NpyData::I8(_) => "|i1",
            NpyData::U16(_) => "<u2",
            NpyData::I16(_) => "<i2",
            NpyData::U32(_) => "<u4",
            NpyData::I32(_) => "<i4",
            NpyData::U64(_) => "<u8",
            NpyData::I64(_) => "<i8",
            NpyData::F32(_) => "<f4",
            NpyData::F64(_) => "<f8",
            NpyData::F16(_) => "<f2",
        }
    }

    /// The values as `f64` (exact for every integer below 2^53).
    #[allow(clippy::unnecessary_cast)] // the macro casts every dtype, f64 included
    pub fn to_f64(&self) -> Vec<f64> {
        match &self.data {
            NpyData::F16(v) => v.iter().map(|&h| f16_to_f32(h) as f64).collect(),
            d => each_dtype!(d, v => v.iter().map(|&x| x as f64).collect()),
        }
    }

    /// The values as `f32` (frames).
    #[allow(clippy::unnecessary_cast)] // the macro casts every dtype, f32 included
    pub fn to_f32(&self) -> Vec<f32> {
        match &self.data {
            NpyData::F32(v) => v.clone(),
            NpyData::F16(v) => v.iter().map(|&h| f16_to_f32(h)).collect(),
            d => each_dtype!(d, v => v.iter().map(|&x| x as f32).collect()),
        }
    }

    /// The array as a CPU tensor of its shape. `u1 i1 i2 i4 i8 f2 f4 f8` keep their dtype
    /// (`Uint8 Int8 Int16 Int Int64 Half Float Double`; `b1` arrays are `u1` 0/1 here); tch has no
    /// unsigned 16-, 32- or 64-bit kind, so `u2` becomes `Int` and `u4`, `u8` become `Int64` (a `u8`
    /// value above `i64::MAX` is an error). Errors if `shape` does not hold exactly the values (the
    /// fields are public) or a dimension exceeds `i64::MAX`.
    pub fn to_tensor(&self) -> Result<Tensor> {
        let what = "NpyArray::to_tensor";
        let shape: Vec<i64> = self
            .shape
            .iter()
            .map(|&d| i64::try_from(d))
            .collect::<std::result::Result<_, _>>()
            .map_err(|_| {
                DatasetError::config(
                    what,
                    format!("shape {:?} has a dimension above i64::MAX", self.shape),
                )
            })?;
        if self.shape.iter().try_fold(1usize, |a, &d| a.checked_mul(d)) != Some(self.len()) {
            return Err(DatasetError::config(
                what,
                format!(
                    "shape {:?} does not hold the {} values",
                    self.shape,
                    self.len()
                ),
            ));
        }
        let flat = match &self.data {
            NpyData::U8(v) => Tensor::f_from_slice(v)?,
            NpyData::I8(v) => Tensor::f_from_slice(v)?,
            NpyData::U16(v) => {
                Tensor::f_from_slice(&v.iter().map(|&x| i32::from(x)).collect::<Vec<i32>>())?
            }
            NpyData::I16(v) => Tensor::f_from_slice(v)?,
            NpyData::U32(v) => {
                Tensor::f_from_slice(&v.iter().map(|&x| i64::from(x)).collect::<Vec<i64>>())?
            }
            NpyData::I32(v) => Tensor::f_from_slice(v)?,
            NpyData::U64(_) => Tensor::f_from_slice(&self.to_i64(what)?)?,
            NpyData::I64(v) => Tensor::f_from_slice(v)?,
            NpyData::F32(v) => Tensor::f_from_slice(v)?,
            NpyData::F64(v) => Tensor::f_from_slice(v)?,
            NpyData::F16(v) => {
                Tensor::f_from_slice(&v.iter().map(|&h| h as i16).collect::<Vec<i16>>())?
                    .f_view_dtype(tch::Kind::Half)?
            }
        };
        Ok(flat.f_reshape(shape.as_slice())?)
    }

    /// The values as `i64`; floats must be whole numbers, and `u8` values must fit. `what` names
    /// the array in the error.
    pub fn to_i64(&self, what: &str) -> Result<Vec<i64>> {
        let bad = |i: usize, v: String| {
            DatasetError::config(
                what,
                format!("value {v} at index {i} is not an integer in the i64 range"),
            )
        };
        match &self.data {
            NpyData::U64(v) => v
                .iter()
                .enumerate()
                .map(|(i, &x)| i64::try_from(x).map_err(|_| bad(i, x.to_string())))
                .collect(),
            NpyData::F32(v) => v
                .iter()
                .enumerate()
                .map(|(i, &x)| float_to_i64(x as f64).ok_or_else(|| bad(i, x.to_string())))
                .collect(),
            NpyData::F64(v) => v
                .iter()
                .enumerate()
                .map(|(i, &x)| float_to_i64(x).ok_or_else(|| bad(i, x.to_string())))
                .collect(),
            NpyData::F16(v) => v
                .iter()
                .enumerate()
                .map(|(i, &h)| {
                    float_to_i64(f16_to_f32(h) as f64)
                        .ok_or_else(|| bad(i, f16_to_f32(h).to_string()))
                })
                .collect(),
            NpyData::U8(v) => Ok(v.iter().map(|&x| x as i64).collect()),
            NpyData::I8(v) => Ok(v.iter().map(|&x| x as i64).collect()),
            NpyData::U16(v) => Ok(v.iter().map(|&x| x as i64).collect()),
            NpyData::I16(v) => Ok(v.iter().map(|&x| x as i64).collect()),
            NpyData::U32(v) => Ok(v.iter().map(|&x| x as i64).collect()),
            NpyData::I32(v) => Ok(v.iter().map(|&x| x as i64).collect()),
            NpyData::I64(v) => Ok(v.clone()),
        }
    }

    /// The `.npy` file bytes (format version 1.0, header padded to 64 bytes as numpy does).
    pub fn to_npy_bytes(&self) -> Vec<u8> {
        let shape = match self.shape.len() {
            1 => format!("({},)", self.shape[0]),
            _ => format!(
                "({})",
                self.shape
                    .iter()
                    .map(|s| s.to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        };
        let mut header = format!(
            "{{'descr': '{}', 'fortran_order': False, 'shape': {shape}, }}",
            self.descr()
        );
        let total = 10 + header.len() + 1;
        header.push_str(&" ".repeat((64 - total % 64) % 64));
        header.push('\n');
        let mut out = Vec::with_capacity(10 + header.len() + self.len() * 8);
        out.extend_from_slice(b"\x93NUMPY\x01\x00");
        out.extend_from_slice(&(header.len() as u16).to_le_bytes());
        out.extend_from_slice(header.as_bytes());
        each_dtype!(&self.data, v => for x in v { out.extend_from_slice(&x.to_le_bytes()) });
        out
    }

    /// Parses `.npy` bytes (`file` names the file in errors, `base` is the offset of `bytes` in it).
    pub(crate) fn from_npy_bytes(file: &Path, base: u64, bytes: &[u8]) -> Result<NpyArray> {
        let err = |at: usize, msg: String| DatasetError::format(file, base + at as u64, msg);
        if bytes.len() < 10 || &bytes[..6] != b"\x93NUMPY" {
            return Err(err(0, "not a .npy array (no \\x93NUMPY magic)".into()));
        }
        let (hlen, start) = match bytes[6] {
            1 => (u16::from_le_bytes([bytes[8], bytes[9]]) as usize, 10),
            2 | 3 if bytes.len() >= 12 => (
                u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]) as usize,
                12,
            ),
            v => return Err(err(6, format!("unsupported .npy version {v}"))),
        };
        let header = bytes
            .get(start..start + hlen)
            .ok_or_else(|| err(start, "truncated .npy header".into()))?;
        let header = String::from_utf8_lossy(header);
        let field = |key: &str| -> Option<String> {
            let at = header.find(&format!("'{key}'"))? + key.len() + 2;
            let rest = header[at..].trim_start().strip_prefix(':')?.trim_start();
            let end = if rest.starts_with('(') {
                rest.find(')')? + 1
            } else {
                rest.find([',', '}'])?
            };
            Some(rest[..end].trim().trim_matches('\'').to_string())
        };
        let (descr, fortran, shape) = match (field("descr"), field("fortran_order"), field("shape"))
        {
            (Some(d), Some(f), Some(s)) => (d, f, s),
            _ => return Err(err(start, format!("unparsable .npy header {header:?}"))),
        };
        let shape: Vec<usize> = shape
            .trim_matches(|c| c == '(' || c == ')')
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|s| s.parse::<usize>())
            .collect::<std::result::Result<_, _>>()
            .map_err(|_| err(start, format!("bad shape in .npy header {header:?}")))?;
        if fortran == "True" && shape.len() > 1 {
            return Err(err(
                start,
                "Fortran-order arrays with more than one dimension are not supported".into(),
            ));
        }
        let n = shape
            .iter()
            .try_fold(1usize, |a, &s| a.checked_mul(s))
            .ok_or_else(|| err(start, "shape overflows".into()))?;
        // The byte-order character, then the type code (split on a character boundary: the
        // header is arbitrary text).
        let (order, kind) = descr.split_at(descr.chars().next().map_or(0, char::len_utf8));
        let big = match order {
            "<" | "|" | "=" => false,
            ">" => true,
            _ => return Err(err(start, format!("unsupported dtype {descr:?}"))),
        };
        let body = &bytes[start + hlen..];
        let size = match kind {
            "b1" | "u1" | "i1" => 1,
            "u2" | "i2" | "f2" => 2,
            "u4" | "i4" | "f4" => 4,
            "u8" | "i8" | "f8" => 8,
            _ => {
                return Err(err(
                    start,
                    format!("unsupported dtype {descr:?} (numeric dtypes only)"),
                ))
            }
        };
        if n.checked_mul(size) != Some(body.len()) {
            return Err(err(
                start + hlen,
                format!(
                    "data has {} bytes, shape {shape:?} of {descr} needs {}",
                    body.len(),
                    n as u128 * size as u128
                ),
            ));
        }
        let data = match kind {
            "b1" => NpyData::U8(body.iter().map(|&b| (b != 0) as u8).collect()),
            "u1" => NpyData::U8(body.to_vec()),
            "i1" => NpyData::I8(body.iter().map(|&b| b as i8).collect()),
            "u2" => NpyData::U16(numbers(body, big)),
            "i2" => NpyData::I16(numbers(body, big)),
            "u4" => NpyData::U32(numbers(body, big)),
            "i4" => NpyData::I32(numbers(body, big)),
            "f4" => NpyData::F32(numbers(body, big)),
            "u8" => NpyData::U64(numbers(body, big)),
            "i8" => NpyData::I64(numbers(body, big)),
            "f2" => NpyData::F16(numbers(body, big)),
            _ => NpyData::F64(numbers(body, big)),
        };
        Ok(NpyArray { shape, data })
    }
}

fn float_to_i64(x: f64) -> Option<i64> {
    (x.is_finite() && x.fract() == 0.0 && x.abs() < 9.2e18).then_some(x as i64)
}

/// The value of the IEEE 754 half-precision number with bits `h` (exact in `f32`).
fn f16_to_f32(h: u16) -> f32 {
    let sign = if h & 0x8000 != 0 { -1.0 } else { 1.0 };
    let fraction = f32::from(h & 0x3FF);
    sign * match (h >> 10) & 0x1F {
        0 => fraction * 2f32.powi(-24),
        31 if fraction == 0.0 => f32::INFINITY,
        31 => f32::NAN,
        e => (1.0 + fraction / 1024.0) * 2f32.powi(i32::from(e) - 15),
    }
}

/// `np.load(file)` of an `.npz`: every array by key (the entry name without `.npy`), in archive
/// order. Errors (named `read_npz`) on anything but a well-formed archive of well-formed arrays.
pub fn read_npz(file: impl AsRef<Path>) -> Result<Vec<(String, NpyArray)>> {
    let file = file.as_ref();
    let arrays = || -> Result<Vec<(String, NpyArray)>> {
        let bytes = read_file(file)?;
        zip::read_all(file, &bytes)?
            .into_iter()
            .map(|(name, data)| {
                let key = name.strip_suffix(".npy").unwrap_or(&name).to_string();
                NpyArray::from_npy_bytes(&file.join(&name), 0, &data).map(|a| (key, a))
            })
            .collect()
    };
    arrays().map_err(|e| e.in_reader("read_npz"))
}

/// `np.savez` (`compressed == false`) or `np.savez_compressed`: writes `arrays` as `<key>.npy`
/// entries, to a temporary file renamed to `file` when complete.
pub fn write_npz(
    file: impl AsRef<Path>,
    arrays: &[(&str, &NpyArray)],
    compressed: bool,
) -> Result<()> {
    let files: Vec<(String, Vec<u8>)> = arrays
        .iter()
        .map(|(k, a)| (format!("{k}.npy"), a.to_npy_bytes()))
        .collect();
    write_atomic(file.as_ref(), &zip::write_archive(&files, compressed)?)
}

/// The array stored under `key` in `arrays` (read from `file`), or an error listing the keys.
pub(crate) fn take_key(
    arrays: &mut Vec<(String, NpyArray)>,
    key: &str,
    file: &Path,
) -> Result<NpyArray> {
    let i = arrays.iter().position(|(k, _)| k == key).ok_or_else(|| {
        let keys: Vec<&str> = arrays.iter().map(|(k, _)| k.as_str()).collect();
        DatasetError::format(
            file,
            0,
            format!("no array {key:?} in the npz (keys {keys:?})"),
        )
    })?;
    Ok(arrays.swap_remove(i).1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn npy_header_matches_numpy_byte_for_byte() {
        // np.save of np.arange(8, dtype='<f8').reshape(2, 2, 1, 2): the header numpy writes.
        let a = NpyArray {
            shape: vec![2, 2, 1, 2],
            data: NpyData::F64((0..8).map(|i| i as f64).collect()),
        };
        let b = a.to_npy_bytes();
        let header = "{'descr': '<f8', 'fortran_order': False, 'shape': (2, 2, 1, 2), }";
        assert_eq!(
            &b[..10],
            b"\x93NUMPY\x01\x00\x76\x00",
            "magic, version 1.0, header length 118"
        );
        assert_eq!(&b[10..10 + header.len()], header.as_bytes());
        assert_eq!(b[127], b'\n');
        assert_eq!(&b[128 + 8..128 + 16], &1.0f64.to_le_bytes());
        assert_eq!(
            NpyArray::from_npy_bytes(Path::new("a.npy"), 0, &b).unwrap(),
            a
        );
        // A big-endian u2 vector and a truncated body.
        let mut be =
            b"\x93NUMPY\x01\x00\x46\x00{'descr': '>u2', 'fortran_order': False, 'shape': (2,), }"
                .to_vec();
        be.resize(10 + 0x46 - 1, b' ');
        be.push(b'\n');
        be.extend_from_slice(&[0x01, 0x02, 0x00, 0x03]);
        let v = NpyArray::from_npy_bytes(Path::new("be.npy"), 0, &be).unwrap();
        assert_eq!(v.data, NpyData::U16(vec![0x0102, 0x0003]));
        let e = NpyArray::from_npy_bytes(Path::new("be.npy"), 0, &be[..be.len() - 1])
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("be.npy") && e.contains("at byte 80") && e.contains("needs 4"),
            "{e}"
        );
    }

    #[test]
    fn non_ascii_and_lying_headers_are_errors() {
        let dir = crate::neuromorphic::tests::test_dir("npy_headers");
        let f = dir.join("frames.npz");
        let frames = |dict: &str, body: &[u8]| {
            let archive = zip::write_archive(
                &[(
                    "frames.npy".to_string(),
                    crate::fixtures::npy(dict, body).unwrap(),
                )],
                false,
            )
            .unwrap();
            std::fs::write(&f, archive).unwrap();
            crate::neuromorphic::load_npz_frames(&f)
        };
        // A descr starting with a multi-byte character split the string inside it (a panic).
        for descr in ["é4", "<é", "ü", ""] {
            let e = frames(
                &format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': (1,), }}"),
                &[0; 4],
            )
            .unwrap_err()
            .to_string();
            assert!(
                e.starts_with("read_npz: ")
                    && e.contains("frames.npz/frames.npy")
                    && e.contains("unsupported dtype"),
                "{descr}: {e}"
            );
        }
        // A dimension above i64::MAX next to a zero one holds no values but makes no tensor.
        let e = frames(
            "{'descr': '<f4', 'fortran_order': False, 'shape': (0, 18446744073709551615), }",
            &[],
        )
        .unwrap_err()
        .to_string();
        assert!(e.starts_with("load_npz_frames: NpyArray::to_tensor: shape [0, 18446744073709551615] has a dimension above i64::MAX"), "{e}");
        // More values claimed than held, and a product that overflows.
        let e = frames(
            "{'descr': '<f4', 'fortran_order': False, 'shape': (1099511627776,), }",
            &[0; 8],
        )
        .unwrap_err()
        .to_string();
        assert!(
            e.contains("data has 8 bytes, shape [1099511627776] of <f4 needs 4398046511104"),
            "{e}"
        );
        let e = frames(
            "{'descr': '<f4', 'fortran_order': False, 'shape': (4611686018427387904, 8), }",
            &[0; 8],
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("shape overflows"), "{e}");
        // Half precision reads back exactly: 1, -2.5, 65504, and the smallest subnormal 2^-24.
        let t = frames(
            "{'descr': '<f2', 'fortran_order': False, 'shape': (2, 2), }",
            &[0x00, 0x3C, 0x00, 0xC1, 0xFF, 0x7B, 0x01, 0x00],
        )
        .unwrap();
        assert_eq!(
            (t.size(), Vec::<f32>::try_from(&t.flatten(0, -1)).unwrap()),
            (vec![2, 2], vec![1.0, -2.5, 65504.0, 2f32.powi(-24)])
        );
    }

    #[test]
    fn reads_an_npz_written_by_numpy() {
        let dir = crate::neuromorphic::tests::test_dir("npz_numpy");
        let f = dir.join("ev_c.npz");
        std::fs::write(&f, crate::fixtures::numpy_events_npz()).unwrap();
        let arrays = read_npz(&f).unwrap();
        let keys: Vec<&str> = arrays.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(keys, ["t", "x", "y", "p"]);
        assert_eq!(arrays[0].1.data, NpyData::U32(vec![1, 5, 9]));
        assert_eq!(arrays[2].1.data, NpyData::U32(vec![0, 33, 7]));
        // Our own writer round-trips, compressed or not, and leaves no temporary file.
        for compressed in [false, true] {
            let g = dir.join(format!("w{compressed}.npz"));
            let pairs: Vec<(&str, &NpyArray)> =
                arrays.iter().map(|(k, a)| (k.as_str(), a)).collect();
            write_npz(&g, &pairs, compressed).unwrap();
            assert_eq!(read_npz(&g).unwrap(), arrays);
        }
        assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 3);
    }
}
