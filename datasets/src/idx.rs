//! The IDX file format of MNIST and Fashion-MNIST (raw or gzip-compressed).
//!
//! Layout (big-endian throughout): two zero bytes, a type byte (`0x08` u8, `0x09` i8, `0x0B` i16,
//! `0x0C` i32, `0x0D` f32, `0x0E` f64), a byte with the number of dimensions `d`, then `d` u32
//! sizes, then the elements in row-major order. So a labels file starts with the magic
//! `0x00000801` and an images file with `0x00000803`. A file whose first two bytes are the gzip
//! magic `1f 8b` is decompressed first, whatever its name.
use crate::error::{DatasetError, Result};
use flate2::read::GzDecoder;
use std::io::Read;
use std::path::Path;
use tch::{Kind, Tensor};

/// The element type of an IDX file (its third magic byte).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IdxType {
    /// `0x08`: unsigned byte.
    U8,
    /// `0x09`: signed byte.
    I8,
    /// `0x0B`: 16-bit integer.
    I16,
    /// `0x0C`: 32-bit integer.
    I32,
    /// `0x0D`: 32-bit float.
    F32,
    /// `0x0E`: 64-bit float.
    F64,
}

impl IdxType {
    /// The type for a type byte, if it is one of the six the format defines.
    pub fn from_code(code: u8) -> Option<Self> {
        Some(match code {
            0x08 => IdxType::U8,
            0x09 => IdxType::I8,
            0x0B => IdxType::I16,
            0x0C => IdxType::I32,
            0x0D => IdxType::F32,
            0x0E => IdxType::F64,
            _ => return None,
        })
    }

    /// The type byte.
    pub fn code(self) -> u8 {
        match self {
            IdxType::U8 => 0x08,
            IdxType::I8 => 0x09,
            IdxType::I16 => 0x0B,
            IdxType::I32 => 0x0C,
            IdxType::F32 => 0x0D,
            IdxType::F64 => 0x0E,
        }
    }

    /// Bytes per element.
    pub fn size(self) -> usize {
        match self {
            IdxType::U8 | IdxType::I8 => 1,
            IdxType::I16 => 2,
            IdxType::I32 | IdxType::F32 => 4,
            IdxType::F64 => 8,
        }
    }

    /// The matching tensor kind.
    pub fn kind(self) -> Kind {
        match self {
            IdxType::U8 => Kind::Uint8,
            IdxType::I8 => Kind::Int8,
            IdxType::I16 => Kind::Int16,
            IdxType::I32 => Kind::Int,
            IdxType::F32 => Kind::Float,
            IdxType::F64 => Kind::Double,
        }
    }
}

/// The contents of one IDX file: element type, dimensions and the elements (native byte order).
#[derive(Clone, Debug, PartialEq)]
pub struct IdxArray {
    /// The element type.
    pub dtype: IdxType,
    /// The sizes of the dimensions, outermost first.
    pub dims: Vec<usize>,
    data: Vec<u8>,
}

impl IdxArray {
    /// The 32-bit magic number: `0x0000_0800 | type << 8 | ndims` with the type byte in bits 8-15.
    pub fn magic(&self) -> u32 {
        (u32::from(self.dtype.code()) << 8) | self.dims.len() as u32
    }

    /// Number of elements held.
    pub fn len(&self) -> usize {
        self.data.len() / self.dtype.size()
    }

    /// True when a dimension is 0.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The elements of a `u8` file.
    pub fn as_u8(&self) -> Option<&[u8]> {
        (self.dtype == IdxType::U8).then_some(&self.data[..])
    }

    /// Consumes the array, returning the elements of a `u8` file.
    pub fn into_u8(self) -> Option<Vec<u8>> {
        (self.dtype == IdxType::U8).then_some(self.data)
    }

    /// The elements as a tensor of the file's shape and the matching kind (`Uint8` for MNIST).
    /// Errors if `dims` (a public field) no longer describes the elements held.
    pub fn to_tensor(&self) -> Result<Tensor> {
        let size: Option<Vec<i64>> = self.dims.iter().map(|&d| i64::try_from(d).ok()).collect();
        let bytes = self
            .dims
            .iter()
            .try_fold(self.dtype.size(), |a, &d| a.checked_mul(d));
        match size {
            // `f_from_data_size` reads as many bytes as the size asks for: check them first.
            Some(size) if bytes == Some(self.data.len()) => Ok(Tensor::f_from_data_size(
                &self.data,
                &size,
                self.dtype.kind(),
            )?),
            _ => Err(DatasetError::config(
                "IdxArray::to_tensor",
                format!(
                    "dims {:?} do not describe the {} elements held",
                    self.dims,
                    self.len()
                ),
            )),
        }
    }
}

/// Reads an IDX file, gzip-compressed or not. Malformed files give a [`DatasetError::Format`]
/// naming the file and the byte offset (in the decompressed stream for a `.gz` file), inside a
/// [`DatasetError::Reader`] naming `read_idx`. A gzip stream is inflated no further than its IDX
/// header says the file holds.
pub fn read_idx(path: impl AsRef<Path>) -> Result<IdxArray> {
    let path = path.as_ref();
    let read = || {
        let raw = std::fs::read(path).map_err(|e| DatasetError::io(path, e))?;
        if raw.starts_with(&[0x1f, 0x8b]) {
            parse(&gunzip(&raw, path)?, path)
        } else {
            parse(&raw, path)
        }
    };
    read().map_err(|e| e.in_reader("read_idx"))
}

/// Inflates the gzip stream `raw` (the contents of `path`) up to the end of the data its IDX
/// header announces, plus one byte to detect trailing data.
fn gunzip(raw: &[u8], path: &Path) -> Result<Vec<u8>> {
    let mut decoder = GzDecoder::new(raw);
    let mut bytes = Vec::new();
    let mut inflate = |bytes: &mut Vec<u8>, n: usize| -> Result<()> {
        match (&mut decoder).take(n as u64).read_to_end(bytes) {
            Ok(_) => Ok(()),
            Err(e) => Err(DatasetError::format(
                path,
                bytes.len() as u64,
                format!(
                    "corrupt or truncated gzip stream after {} decompressed bytes: {e}",
                    bytes.len()
                ),
            )),
        }
    };
    inflate(&mut bytes, 4)?;
    let ndims = bytes.get(3).copied().unwrap_or(0);
    inflate(&mut bytes, 4 * usize::from(ndims))?;
    // A bad header reads nothing more; `parse` reports it.
    let data = header(&bytes, path).map_or(0, |(_, _, _, data)| data.saturating_add(1));
    inflate(&mut bytes, data)?;
    Ok(bytes)
}

/// Parses the bytes of an IDX file; `file` names it in errors (inside a [`DatasetError::Reader`]
/// naming `parse_idx`).
pub fn parse_idx(bytes: &[u8], file: &Path) -> Result<IdxArray> {
    parse(bytes, file).map_err(|e| e.in_reader("parse_idx"))
}

/// The element type, dimensions, header length and data length (bytes) of the IDX header at the
/// start of `bytes`.
fn header(bytes: &[u8], file: &Path) -> Result<(IdxType, Vec<usize>, usize, usize)> {
    if bytes.len() < 4 {
        return Err(DatasetError::format(
            file,
            bytes.len() as u64,
            format!("truncated: {} bytes, an IDX header needs 4", bytes.len()),
        ));
    }
    if bytes[0] != 0 || bytes[1] != 0 {
        return Err(DatasetError::format(
            file,
            0,
            format!(
                "not an IDX file: magic starts {:02x} {:02x}, expected 00 00",
                bytes[0], bytes[1]
            ),
        ));
    }
    let dtype = IdxType::from_code(bytes[2]).ok_or_else(|| {
        DatasetError::format(
            file,
            2,
            format!(
                "unknown IDX element type 0x{:02x} (expected 08, 09, 0b, 0c, 0d or 0e)",
                bytes[2]
            ),
        )
    })?;
    let ndims = usize::from(bytes[3]);
    if ndims == 0 {
        return Err(DatasetError::format(
            file,
            3,
            "an IDX file needs at least one dimension",
        ));
    }
    let header = 4 + 4 * ndims;
    if bytes.len() < header {
        return Err(DatasetError::format(
            file,
            bytes.len() as u64,
            format!(
                "truncated header: {ndims} dimensions need {header} bytes, the file has {}",
                bytes.len()
            ),
        ));
    }
    let dims: Vec<usize> = bytes[4..header]
        .chunks_exact(4)
        .map(|c| u32::from_be_bytes([c[0], c[1], c[2], c[3]]) as usize)
        .collect();
    let expected = dims
        .iter()
        .try_fold(dtype.size(), |acc, &d| acc.checked_mul(d))
        .ok_or_else(|| DatasetError::format(file, 4, format!("dimensions {dims:?} overflow")))?;
    Ok((dtype, dims, header, expected))
}

fn parse(bytes: &[u8], file: &Path) -> Result<IdxArray> {
    let (dtype, dims, header, expected) = header(bytes, file)?;
    let found = bytes.len() - header;
    if found < expected {
        return Err(DatasetError::format(
            file,
            bytes.len() as u64,
            format!("truncated: dimensions {dims:?} need {expected} data bytes after the {header}-byte header, found {found}"),
        ));
    }
    if found > expected {
        return Err(DatasetError::format(
            file,
            (header + expected) as u64,
            format!("unexpected bytes after the {expected} data bytes of dimensions {dims:?}"),
        ));
    }
    // The elements are big-endian: reverse each one's bytes on a little-endian machine.
    let mut data = bytes[header..].to_vec();
    if cfg!(target_endian = "little") && dtype.size() > 1 {
        data.chunks_exact_mut(dtype.size())
            .for_each(<[u8]>::reverse);
    }
    Ok(IdxArray { dtype, dims, data })
}

#[cfg(test)]
mod tests {
    use super::*;
    use flate2::{write::GzEncoder, Compression};
    use std::io::Write;
    use std::path::PathBuf;

    fn temp(name: &str, bytes: &[u8]) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("sj-idx-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(name);
        std::fs::write(&path, bytes).unwrap();
        path
    }

    fn gzip(bytes: &[u8]) -> Vec<u8> {
        let mut enc = GzEncoder::new(Vec::new(), Compression::default());
        enc.write_all(bytes).unwrap();
        enc.finish().unwrap()
    }

    /// A 2-image 2x3 u8 file, written byte by byte as the IDX documentation describes.
    fn images_2x2x3() -> Vec<u8> {
        let mut b = vec![0x00, 0x00, 0x08, 0x03, 0, 0, 0, 2, 0, 0, 0, 2, 0, 0, 0, 3];
        b.extend([0, 1, 2, 3, 4, 5, 250, 251, 252, 253, 254, 255]);
        b
    }

    #[test]
    fn images_and_labels_magic_0803_0801() {
        let path = temp("images-idx3-ubyte", &images_2x2x3());
        let a = read_idx(&path).unwrap();
        assert_eq!(
            (a.dtype, a.dims.clone(), a.magic()),
            (IdxType::U8, vec![2, 2, 3], 0x0000_0803)
        );
        let t = a.to_tensor().unwrap();
        assert_eq!((t.size(), t.kind()), (vec![2, 2, 3], Kind::Uint8));
        assert_eq!(t.int64_value(&[1, 0, 2]), 252);
        assert_eq!(a.as_u8().unwrap()[11], 255);

        let labels = [0x00, 0x00, 0x08, 0x01, 0x00, 0x00, 0x00, 0x03, 7, 2, 1];
        let l = read_idx(temp("labels-idx1-ubyte", &labels)).unwrap();
        assert_eq!(
            (l.magic(), l.dims.clone(), l.into_u8().unwrap()),
            (0x0000_0801, vec![3], vec![7, 2, 1])
        );
    }

    #[test]
    fn gzip_is_detected_by_content() {
        let path = temp("images.gz", &gzip(&images_2x2x3()));
        assert_eq!(
            read_idx(&path).unwrap(),
            read_idx(temp("plain", &images_2x2x3())).unwrap()
        );
        // a raw file named .gz is still read
        assert_eq!(
            read_idx(temp("raw-named.gz", &images_2x2x3()))
                .unwrap()
                .dims,
            vec![2, 2, 3]
        );
    }

    #[test]
    fn big_endian_multibyte_elements() {
        // i16 [2]: 0x0102 = 258 and 0xfffe = -2; f32 [1]: 0x3fc00000 = 1.5; i32 [1] = 0x00010000 = 65536
        let i16s = [0, 0, 0x0B, 1, 0, 0, 0, 2, 0x01, 0x02, 0xff, 0xfe];
        let t = read_idx(temp("i16", &i16s)).unwrap().to_tensor().unwrap();
        assert_eq!(
            (t.kind(), Vec::<i16>::try_from(&t).unwrap()),
            (Kind::Int16, vec![258, -2])
        );
        let f32s = [0, 0, 0x0D, 1, 0, 0, 0, 1, 0x3f, 0xc0, 0, 0];
        assert_eq!(
            read_idx(temp("f32", &f32s))
                .unwrap()
                .to_tensor()
                .unwrap()
                .double_value(&[0]),
            1.5
        );
        let i32s = [0, 0, 0x0C, 1, 0, 0, 0, 1, 0, 1, 0, 0];
        assert_eq!(
            read_idx(temp("i32", &i32s))
                .unwrap()
                .to_tensor()
                .unwrap()
                .int64_value(&[0]),
            65536
        );
        let f64s = [0, 0, 0x0E, 1, 0, 0, 0, 1, 0xc0, 0x04, 0, 0, 0, 0, 0, 0];
        assert_eq!(
            read_idx(temp("f64", &f64s))
                .unwrap()
                .to_tensor()
                .unwrap()
                .double_value(&[0]),
            -2.5
        );
    }

    #[test]
    fn bad_files_name_the_file_and_offset() {
        let err = |name: &str, bytes: &[u8]| read_idx(temp(name, bytes)).unwrap_err().to_string();
        let e = err("png", b"\x89PNG\r\n\x1a\n");
        assert!(
            e.contains("png: at byte 0: not an IDX file: magic starts 89 50"),
            "{e}"
        );
        let e = err("type", &[0, 0, 0x07, 1, 0, 0, 0, 0]);
        assert!(
            e.contains("type: at byte 2: unknown IDX element type 0x07"),
            "{e}"
        );
        let e = err("ndims0", &[0, 0, 8, 0]);
        assert!(e.contains("at byte 3"), "{e}");
        let e = err("short", &[0, 0]);
        assert!(e.contains("short: at byte 2: truncated"), "{e}");
        let e = err("header", &[0, 0, 8, 3, 0, 0, 0, 2, 0, 0]);
        assert!(
            e.contains("header: at byte 10: truncated header: 3 dimensions need 16 bytes"),
            "{e}"
        );
        let mut data = images_2x2x3();
        data.truncate(20);
        let e = err("data", &data);
        assert!(e.contains("data: at byte 20: truncated: dimensions [2, 2, 3] need 12 data bytes after the 16-byte header, found 4"), "{e}");
        let mut extra = images_2x2x3();
        extra.push(9);
        let e = err("extra", &extra);
        assert!(
            e.contains("extra: at byte 28: unexpected bytes after the 12 data bytes"),
            "{e}"
        );
        let gz = gzip(&images_2x2x3());
        let e = err("cut.gz", &gz[..gz.len() - 10]);
        assert!(e.contains("cut.gz: at byte") && e.contains("gzip"), "{e}");
        // A gzip stream is inflated only as far as its header says: a 12-byte image file whose
        // stream goes on for a megabyte, and a header claiming 2^24 x 2^24 x 255 bytes.
        let e = err(
            "long.gz",
            &gzip(&[images_2x2x3(), vec![0; 1 << 20]].concat()),
        );
        assert!(
            e.contains("long.gz: at byte 28: unexpected bytes after the 12 data bytes"),
            "{e}"
        );
        let e = err(
            "huge.gz",
            &gzip(&[
                0, 0, 8, 3, 0, 255, 255, 255, 0, 255, 255, 255, 0, 0, 0, 255, 1, 2,
            ]),
        );
        assert!(
            e.contains("huge.gz: at byte 18: truncated: dimensions [16777215, 16777215, 255]"),
            "{e}"
        );
        // dims is public: a tensor is only made from dims that describe the data held.
        let mut a = read_idx(temp("ok", &images_2x2x3())).unwrap();
        a.dims = vec![1000, 1000];
        let e = a.to_tensor().unwrap_err().to_string();
        assert!(
            e.contains("IdxArray::to_tensor: dims [1000, 1000] do not describe the 12 elements"),
            "{e}"
        );
        let e = read_idx("/nonexistent/sj/train-images-idx3-ubyte")
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("read_idx: /nonexistent/sj/train-images-idx3-ubyte: "),
            "{e}"
        );
    }
}
