//! A reader for the numeric variables of MATLAB level-5 MAT-files (what `scipy.io.loadmat`, and so
//! SpikingJelly's ASL-DVS loader, reads; ASL-DVS stores `ts`, `x`, `y`, `pol` this way).
//!
//! Supported: the 128-byte header in either byte order (`IM`/`MI`), `miMATRIX` elements of the
//! numeric classes (double, single, int8–int64, uint8–uint64), real, any number of dimensions, with
//! their values stored in any numeric data type (MATLAB stores doubles compactly, e.g. as
//! `miUINT8`), the small data element format, and `miCOMPRESSED` (zlib, MAT v7) elements. Other
//! classes (char, cell, struct, sparse, objects) and complex arrays are skipped. Not supported:
//! MAT v4 files and v7.3 files (HDF5; scipy rejects them too). Values come back in C order.
use super::events::narrow;
use super::io::{read_file, Bytes};
use super::npy::{numbers, NpyArray, NpyData};
use crate::error::{DatasetError, Result};
use flate2::read::ZlibDecoder;
use std::io::Read;
use std::path::Path;

/// MAT data type `miINT8`.
pub const MI_INT8: u32 = 1;
/// MAT data type `miUINT8`.
pub const MI_UINT8: u32 = 2;
/// MAT data type `miINT16`.
pub const MI_INT16: u32 = 3;
/// MAT data type `miUINT16`.
pub const MI_UINT16: u32 = 4;
/// MAT data type `miINT32`.
pub const MI_INT32: u32 = 5;
/// MAT data type `miUINT32`.
pub const MI_UINT32: u32 = 6;
/// MAT data type `miSINGLE`.
pub const MI_SINGLE: u32 = 7;
/// MAT data type `miDOUBLE`.
pub const MI_DOUBLE: u32 = 9;
/// MAT data type `miINT64`.
pub const MI_INT64: u32 = 12;
/// MAT data type `miUINT64`.
pub const MI_UINT64: u32 = 13;
/// MAT data type `miMATRIX`: an array with its flags, dimensions, name and values.
pub const MI_MATRIX: u32 = 14;
/// MAT data type `miCOMPRESSED`: a zlib stream holding one element (MAT v7).
pub const MI_COMPRESSED: u32 = 15;

/// `mxDOUBLE_CLASS` .. `mxUINT64_CLASS`.
const NUMERIC_CLASSES: std::ops::RangeInclusive<u32> = 6..=15;

/// A byte cursor with the file's byte order.
struct Reader<'a> {
    b: Bytes<'a>,
    big: bool,
}

impl<'a> Reader<'a> {
    fn u32(&mut self, what: &str) -> Result<u32> {
        let s = self.b.take(4, what)?;
        let a = [s[0], s[1], s[2], s[3]];
        Ok(if self.big {
            u32::from_be_bytes(a)
        } else {
            u32::from_le_bytes(a)
        })
    }

    fn err(&self, at: usize, msg: impl Into<String>) -> DatasetError {
        self.b.error_at(at, msg)
    }

    /// A data element's `(type, bytes, offset of the tag)`, handling the small element format.
    fn element(&mut self) -> Result<(u32, &'a [u8], usize)> {
        let at = self.b.pos();
        let first = self.u32("data element tag")?;
        if first >> 16 != 0 {
            let (kind, n) = (first & 0xFFFF, (first >> 16) as usize);
            if n > 4 {
                return Err(self.err(
                    at,
                    format!("small data element claims {n} bytes (at most 4)"),
                ));
            }
            let data = self.b.take(4, "small data element")?;
            return Ok((kind, &data[..n], at));
        }
        let n = self.u32("data element tag")? as usize;
        let data = self.b.take(n, "data element")?;
        Ok((first, data, at))
    }

    /// An element inside a matrix, then the padding to the next 8-byte boundary.
    fn sub_element(&mut self) -> Result<(u32, &'a [u8], usize)> {
        let (kind, data, at) = self.element()?;
        let pad = (8 - (self.b.pos() - at) % 8) % 8;
        self.b.take(pad.min(self.b.remaining()), "padding")?;
        Ok((kind, data, at))
    }
}

/// Numeric values of data type `kind` as `f64`/`i64` pairs keeping integers exact.
fn decode(kind: u32, data: &[u8], big: bool) -> Option<NpyData> {
    Some(match kind {
        MI_INT8 => NpyData::I8(data.iter().map(|&b| b as i8).collect()),
        MI_UINT8 => NpyData::U8(data.to_vec()),
        MI_INT16 => NpyData::I16(numbers(data, big)),
        MI_UINT16 => NpyData::U16(numbers(data, big)),
        MI_INT32 => NpyData::I32(numbers(data, big)),
        MI_UINT32 => NpyData::U32(numbers(data, big)),
        MI_SINGLE => NpyData::F32(numbers(data, big)),
        MI_DOUBLE => NpyData::F64(numbers(data, big)),
        MI_INT64 => NpyData::I64(numbers(data, big)),
        MI_UINT64 => NpyData::U64(numbers(data, big)),
        _ => return None,
    })
}

/// Parses one `miMATRIX` body; `None` for skipped classes.
fn matrix(r: &mut Reader<'_>) -> Result<Option<(String, NpyArray)>> {
    let (_, flags, at) = r.sub_element()?;
    if flags.len() < 8 {
        return Err(r.err(at, "array flags element is shorter than 8 bytes"));
    }
    let f = [flags[0], flags[1], flags[2], flags[3]];
    let flags = if r.big {
        u32::from_be_bytes(f)
    } else {
        u32::from_le_bytes(f)
    };
    let (class, complex) = (flags & 0xFF, flags & 0x800 != 0);
    let (_, dims, dims_at) = r.sub_element()?;
    let dims: Vec<usize> = match decode(MI_INT32, dims, r.big) {
        Some(NpyData::I32(d)) if d.iter().all(|&v| v >= 0) => {
            d.into_iter().map(|v| v as usize).collect()
        }
        _ => return Err(r.err(dims_at, "bad dimensions element")),
    };
    let (_, name, _) = r.sub_element()?;
    let name = String::from_utf8_lossy(name).into_owned();
    if !NUMERIC_CLASSES.contains(&class) || complex {
        return Ok(None);
    }
    let (kind, values, values_at) = r.sub_element()?;
    let data = decode(kind, values, r.big).ok_or_else(|| {
        r.err(
            values_at,
            format!("{name}: data type {kind} is not numeric"),
        )
    })?;
    let stored = NpyArray::vector(data);
    if dims.iter().try_fold(1usize, |a, &d| a.checked_mul(d)) != Some(stored.len()) {
        return Err(r.err(
            values_at,
            format!("{name}: {} values for dimensions {dims:?}", stored.len()),
        ));
    }
    // Cast to the class (as scipy does) and reorder MATLAB's column-major values to C order.
    let what = format!("{name} (MAT class {class})");
    let ints = |a: &NpyArray| a.to_i64(&what).map_err(|e| r.err(values_at, e.to_string()));
    let column_major = match (class, &stored.data) {
        (6, _) => NpyData::F64(stored.to_f64()),
        (7, _) => NpyData::F32(stored.to_f32()),
        (15, NpyData::U64(v)) => NpyData::U64(v.clone()),
        (15, _) => NpyData::U64(
            narrow(&ints(&stored)?, &what, &name).map_err(|e| r.err(values_at, e.to_string()))?,
        ),
        _ => NpyData::I64(ints(&stored)?),
    };
    let order = c_order(&dims);
    let data = match column_major {
        NpyData::F64(v) => NpyData::F64(order.iter().map(|&i| v[i]).collect()),
        NpyData::F32(v) => NpyData::F32(order.iter().map(|&i| v[i]).collect()),
        NpyData::U64(v) => NpyData::U64(order.iter().map(|&i| v[i]).collect()),
        NpyData::I64(v) => NpyData::I64(order.iter().map(|&i| v[i]).collect()),
        other => other,
    };
    Ok(Some((name, NpyArray { shape: dims, data })))
}

/// For each C-order position, the column-major index of the same element.
fn c_order(dims: &[usize]) -> Vec<usize> {
    let n: usize = dims.iter().product();
    (0..n)
        .map(|mut c| {
            let (mut f, mut stride) = (0, 1);
            let mut idx = vec![0; dims.len()];
            for k in (0..dims.len()).rev() {
                idx[k] = c % dims[k];
                c /= dims[k];
            }
            for (k, &i) in idx.iter().enumerate() {
                f += i * stride;
                stride *= dims[k];
            }
            f
        })
        .collect()
}

/// `scipy.io.loadmat(file)` restricted to numeric arrays: `(name, array)` for each, in file order.
/// A compressed element is inflated no further than its inner element's tag says.
pub fn load_mat5(file: impl AsRef<Path>) -> Result<Vec<(String, NpyArray)>> {
    let file = file.as_ref();
    read_mat5(file).map_err(|e| e.in_reader("load_mat5"))
}

fn read_mat5(file: &Path) -> Result<Vec<(String, NpyArray)>> {
    let data = read_file(file)?;
    let bytes = Bytes::new(file, &data);
    if data.len() < 128 {
        return Err(bytes.error_at(0, "not a MAT-file: shorter than the 128-byte header"));
    }
    let big = match &data[126..128] {
        b"IM" => false,
        b"MI" => true,
        _ if data.starts_with(b"MATLAB 7.3") => {
            return Err(bytes.error_at(
                0,
                "MAT v7.3 (HDF5) files are not supported (nor by scipy.io.loadmat)",
            ))
        }
        _ => return Err(bytes.error_at(126, "not a MAT v5 file: no IM/MI endian indicator")),
    };
    let version = if big {
        u16::from_be_bytes([data[124], data[125]])
    } else {
        u16::from_le_bytes([data[124], data[125]])
    };
    if version != 0x0100 {
        return Err(bytes.error_at(
            124,
            format!("MAT version {version:#06x} is not supported (expected 0x0100)"),
        ));
    }
    let mut r = Reader { b: bytes, big };
    r.b.seek(128)?;
    let mut out = Vec::new();
    while r.b.remaining() > 0 {
        let (kind, body, at) = r.element()?;
        let parsed = match kind {
            MI_MATRIX => matrix(&mut Reader {
                b: Bytes::with_base(file, body, at + 8),
                big,
            })?,
            MI_COMPRESSED => {
                // Offsets inside name the decompressed stream of the element at `at`.
                let label = std::path::PathBuf::from(format!(
                    "{}[zlib element at byte {at}]",
                    file.display()
                ));
                let mut z = ZlibDecoder::new(body);
                let mut inflated = Vec::new();
                let mut inflate = |out: &mut Vec<u8>, n: u32| {
                    (&mut z)
                        .take(u64::from(n))
                        .read_to_end(out)
                        .map_err(|e| r.err(at, format!("corrupt compressed element ({e})")))
                };
                // The inner element's 8-byte tag, then no more than the length it gives.
                inflate(&mut inflated, 8)?;
                let mut tag = Reader {
                    b: Bytes::new(&label, &inflated),
                    big,
                };
                if tag.u32("data element tag")? >> 16 == 0 {
                    let n = tag.u32("data element tag")?;
                    inflate(&mut inflated, n)?;
                }
                let mut inner = Reader {
                    b: Bytes::new(&label, &inflated),
                    big,
                };
                match inner.element()? {
                    (MI_MATRIX, m, tag) => matrix(&mut Reader {
                        b: Bytes::with_base(&label, m, tag + 8),
                        big,
                    })?,
                    _ => None,
                }
            }
            _ => None,
        };
        out.extend(parsed);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::{mat5_compressed, mat5_header, mat5_matrix};

    #[test]
    fn reads_numeric_variables_in_every_storage_form() {
        let dir = crate::neuromorphic::tests::test_dir("mat5");
        let f = dir.join("a.mat");
        let mut m = mat5_header(false);
        assert_eq!(
            &m[124..128],
            [0x00, 0x01, b'I', b'M'],
            "version 0x0100 and 'MI' written little-endian"
        );
        let doubles: Vec<u8> = [1.5f64, 2.0, 3e9]
            .iter()
            .flat_map(|v| v.to_le_bytes())
            .collect();
        m.extend(mat5_matrix("ts", 6, &[3, 1], MI_DOUBLE, &doubles, false).unwrap());
        // A char array (class 4) is skipped.
        m.extend(mat5_matrix("note", 4, &[1, 2], MI_UINT16, &[104, 0, 105, 0], false).unwrap());
        // A 2 x 3 double matrix stored compactly as uint8, column-major [[1,2,3],[4,5,6]].
        m.extend(
            mat5_compressed(
                &mat5_matrix("m", 6, &[2, 3], MI_UINT8, &[1, 4, 2, 5, 3, 6], false).unwrap(),
            )
            .unwrap(),
        );
        // An int32 row vector; 3 bytes of uint8 in the small element format.
        m.extend(mat5_matrix("pol", 12, &[1, 3], MI_UINT8, &[1, 0, 1], false).unwrap());
        std::fs::write(&f, &m).unwrap();
        let vars = load_mat5(&f).unwrap();
        let names: Vec<&str> = vars.iter().map(|v| v.0.as_str()).collect();
        assert_eq!(names, ["ts", "m", "pol"]);
        assert_eq!(
            vars[0].1,
            NpyArray {
                shape: vec![3, 1],
                data: NpyData::F64(vec![1.5, 2.0, 3e9])
            }
        );
        assert_eq!(
            vars[1].1,
            NpyArray {
                shape: vec![2, 3],
                data: NpyData::F64(vec![1., 2., 3., 4., 5., 6.])
            }
        );
        assert_eq!(
            vars[2].1,
            NpyArray {
                shape: vec![1, 3],
                data: NpyData::I64(vec![1, 0, 1])
            }
        );
        // The same variable big-endian.
        let mut b = mat5_header(true);
        let be: Vec<u8> = [7.0f64, 8.0].iter().flat_map(|v| v.to_be_bytes()).collect();
        b.extend(mat5_matrix("x", 6, &[2, 1], MI_DOUBLE, &be, true).unwrap());
        std::fs::write(&f, &b).unwrap();
        assert_eq!(
            load_mat5(&f).unwrap()[0].1.data,
            NpyData::F64(vec![7.0, 8.0])
        );
        // Truncation, a v7.3 file and garbage all name the file and offset.
        std::fs::write(&f, &m[..m.len() - 4]).unwrap();
        let e = load_mat5(&f).unwrap_err().to_string();
        assert!(
            e.contains("a.mat") && e.contains("truncated data element"),
            "{e}"
        );
        let mut v73 = b"MATLAB 7.3 MAT-file, Platform: GLNXA64, HDF5 schema 1.00".to_vec();
        v73.resize(128, b' ');
        std::fs::write(&f, &v73).unwrap();
        assert!(load_mat5(&f).unwrap_err().to_string().contains("v7.3"));
        std::fs::write(&f, [7u8; 200]).unwrap();
        assert!(load_mat5(&f)
            .unwrap_err()
            .to_string()
            .contains("at byte 126"));
    }
}
