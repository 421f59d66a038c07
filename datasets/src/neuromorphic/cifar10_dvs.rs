//! CIFAR10-DVS (128 x 128, 10 classes, no official split) and its AEDAT 2 reader functions
//! (`read_bits`, `skip_header`, `load_raw_events`, `parse_raw_address`, `load_events`).
//!
//! An AEDAT 2 file is `#` header lines followed by big-endian `u32` pairs `(address, timestamp)`.
//! CIFAR10-DVS addresses use `x = (a & 0xFE) >> 1`, `y = (a & 0x7F00) >> 8`, `p = a & 1`, and
//! SpikingJelly then transposes and flips them: `x_out = 127 − y`, `y_out = 127 − x`, `p_out = 1 − p`.
use super::events::Events;
use super::folder::{NeuromorphicSource, Resource};
use super::io::{read_file, Bytes};
use crate::error::Result;
use std::path::Path;

/// Event type of DVS events in the valid bit (`EVT_DVS`).
pub const EVT_DVS: u32 = 0;

/// `read_bits(arr, mask, shift)`: `(arr & mask) >> shift`, each step optional.
pub fn read_bits(arr: &[u32], mask: Option<u32>, shift: Option<u32>) -> Vec<u32> {
    arr.iter()
        .map(|&a| mask.map_or(a, |m| a & m))
        .map(|a| shift.map_or(a, |s| a.checked_shr(s).unwrap_or(0)))
        .collect()
}

/// `skip_header(fp)`: the number of bytes taken by the leading lines whose stripped text starts
/// with `#` (stopping at the first line that is not valid UTF-8).
pub fn skip_header(data: &[u8]) -> usize {
    let mut b = Bytes::new(Path::new(""), data);
    let mut p = 0;
    loop {
        let line = b.line();
        match std::str::from_utf8(line) {
            Ok(text) if text.trim().starts_with('#') => p += line.len(),
            _ => return p,
        }
    }
}

/// The address layout for [`parse_raw_address`]: masks and shifts of x, y and polarity.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AddressLayout {
    /// x mask.
    pub x_mask: u32,
    /// x shift.
    pub x_shift: u32,
    /// y mask.
    pub y_mask: u32,
    /// y shift.
    pub y_shift: u32,
    /// polarity mask.
    pub polarity_mask: u32,
    /// polarity shift (`None` = no shift).
    pub polarity_shift: Option<u32>,
}

impl Default for AddressLayout {
    /// The module defaults (DAVIS): x `0x3FF000 >> 12`, y `0x7FC00000 >> 22`, polarity `0x800 >> 11`.
    fn default() -> Self {
        AddressLayout {
            x_mask: 0x003F_F000,
            x_shift: 12,
            y_mask: 0x7FC0_0000,
            y_shift: 22,
            polarity_mask: 0x800,
            polarity_shift: Some(11),
        }
    }
}

impl AddressLayout {
    /// The layout `CIFAR10DVS.load_origin_data` passes: x `0xFE >> 1`, y `0x7F00 >> 8`, polarity `1`.
    pub fn cifar10_dvs() -> Self {
        AddressLayout {
            x_mask: 0xFE,
            x_shift: 1,
            y_mask: 0x7F00,
            y_shift: 8,
            polarity_mask: 1,
            polarity_shift: None,
        }
    }
}

/// `load_raw_events(fp, bytes_skip, bytes_trim, filter_dvs, times_first) -> (timestamp, address)`.
/// With `filter_dvs`, only addresses whose bit 31 is `EVT_DVS` are kept.
pub fn load_raw_events(
    file: impl AsRef<Path>,
    bytes_skip: usize,
    bytes_trim: usize,
    filter_dvs: bool,
    times_first: bool,
) -> Result<(Vec<u32>, Vec<u32>)> {
    let file = file.as_ref();
    read_raw_events(file, bytes_skip, bytes_trim, filter_dvs, times_first)
        .map_err(|e| e.in_reader("load_raw_events"))
}

fn read_raw_events(
    file: &Path,
    bytes_skip: usize,
    bytes_trim: usize,
    filter_dvs: bool,
    times_first: bool,
) -> Result<(Vec<u32>, Vec<u32>)> {
    let data = read_file(file)?;
    let start = skip_header(&data).saturating_add(bytes_skip);
    let end = data.len().saturating_sub(bytes_trim);
    let b = Bytes::new(file, &data);
    if start > end {
        return Err(b.error_at(start.min(data.len()), "no event data after the header"));
    }
    let body = &data[start..end];
    if body.len() % 8 != 0 {
        let at = start + body.len() - body.len() % 8;
        return Err(b.error_at(
            at,
            format!(
                "truncated event: AEDAT 2 events are 8 bytes, {} bytes left over",
                body.len() % 8
            ),
        ));
    }
    let words: Vec<u32> = body
        .chunks_exact(4)
        .map(|c| u32::from_be_bytes([c[0], c[1], c[2], c[3]]))
        .collect();
    let (mut addr, mut ts): (Vec<u32>, Vec<u32>) = (
        words.iter().step_by(2).copied().collect(),
        words.iter().skip(1).step_by(2).copied().collect(),
    );
    if times_first {
        std::mem::swap(&mut addr, &mut ts);
    }
    if filter_dvs {
        let keep: Vec<bool> = read_bits(&addr, Some(0x8000_0000), Some(31))
            .into_iter()
            .map(|v| v == EVT_DVS)
            .collect();
        ts = ts
            .iter()
            .zip(&keep)
            .filter(|(_, &k)| k)
            .map(|(&t, _)| t)
            .collect();
        addr = addr
            .iter()
            .zip(&keep)
            .filter(|(_, &k)| k)
            .map(|(&a, _)| a)
            .collect();
    }
    Ok((ts, addr))
}

/// `parse_raw_address(addr, ...) -> (x, y, polarity)`.
pub fn parse_raw_address(addr: &[u32], layout: AddressLayout) -> (Vec<u32>, Vec<u32>, Vec<bool>) {
    let p = read_bits(addr, Some(layout.polarity_mask), layout.polarity_shift)
        .into_iter()
        .map(|v| v != 0)
        .collect();
    (
        read_bits(addr, Some(layout.x_mask), Some(layout.x_shift)),
        read_bits(addr, Some(layout.y_mask), Some(layout.y_shift)),
        p,
    )
}

/// Raw AEDAT 2 events as `(timestamp, x, y, polarity)`.
pub type RawEvents = (Vec<u32>, Vec<u32>, Vec<u32>, Vec<bool>);

/// `load_events(fp, filter_dvs, **kwargs) -> (timestamp, x, y, polarity)`.
pub fn load_events(
    file: impl AsRef<Path>,
    filter_dvs: bool,
    layout: AddressLayout,
) -> Result<RawEvents> {
    let (t, addr) = load_raw_events(file, 0, 0, filter_dvs, false)?;
    let (x, y, p) = parse_raw_address(&addr, layout);
    Ok((t, x, y, p))
}

/// The CIFAR10-DVS dataset (SpikingJelly's `CIFAR10DVS`).
#[allow(clippy::upper_case_acronyms)]
#[derive(Clone, Copy, Debug, Default)]
pub struct CIFAR10DVS;

impl CIFAR10DVS {
    /// `load_origin_data(file_name)`: `{'t': t, 'x': 127 - y, 'y': 127 - x, 'p': 1 - p}`.
    pub fn load_origin_data(file: impl AsRef<Path>) -> Result<Events> {
        let file = file.as_ref();
        let (t, x, y, p) = load_events(file, false, AddressLayout::cifar10_dvs())?;
        // The masks bound x and y to 0..=127, so the flips cannot underflow.
        Events::new(
            t.into_iter().map(i64::from).collect(),
            y.iter().map(|&v| 127 - v as u16).collect(),
            x.iter().map(|&v| 127 - v as u16).collect(),
            p.iter().map(|&v| 1 - v as u8).collect(),
        )
    }
}

const FIGSHARE: [(&str, &str, &str); 10] = [
    (
        "airplane.zip",
        "https://ndownloader.figshare.com/files/7712788",
        "0afd5c4bf9ae06af762a77b180354fdd",
    ),
    (
        "automobile.zip",
        "https://ndownloader.figshare.com/files/7712791",
        "8438dfeba3bc970c94962d995b1b9bdd",
    ),
    (
        "bird.zip",
        "https://ndownloader.figshare.com/files/7712794",
        "a9c207c91c55b9dc2002dc21c684d785",
    ),
    (
        "cat.zip",
        "https://ndownloader.figshare.com/files/7712812",
        "52c63c677c2b15fa5146a8daf4d56687",
    ),
    (
        "deer.zip",
        "https://ndownloader.figshare.com/files/7712815",
        "b6bf21f6c04d21ba4e23fc3e36c8a4a3",
    ),
    (
        "dog.zip",
        "https://ndownloader.figshare.com/files/7712818",
        "f379ebdf6703d16e0a690782e62639c3",
    ),
    (
        "frog.zip",
        "https://ndownloader.figshare.com/files/7712842",
        "cad6ed91214b1c7388a5f6ee56d08803",
    ),
    (
        "horse.zip",
        "https://ndownloader.figshare.com/files/7712851",
        "e7cbbf77bec584ffbf913f00e682782a",
    ),
    (
        "ship.zip",
        "https://ndownloader.figshare.com/files/7712836",
        "41c7bd7d6b251be82557c6cce9a7d5c9",
    ),
    (
        "truck.zip",
        "https://ndownloader.figshare.com/files/7712839",
        "89f3922fd147d9aeff89e76a2b0b70a7",
    ),
];

impl NeuromorphicSource for CIFAR10DVS {
    fn name(&self) -> &'static str {
        "CIFAR10DVS"
    }
    fn resource_url_md5(&self) -> Vec<Resource> {
        FIGSHARE
            .iter()
            .map(|&(file_name, url, md5)| Resource {
                file_name,
                url,
                md5: Some(md5),
            })
            .collect()
    }
    fn downloadable(&self) -> bool {
        true
    }
    fn extract_downloaded_files(&self, download_root: &Path, extract_root: &Path) -> Result<()> {
        super::folder::extract_each_zip(download_root, extract_root)
    }
    fn create_events_np_files(&self, extract_root: &Path, events_np_root: &Path) -> Result<()> {
        super::folder::convert_class_folders(extract_root, events_np_root, |f| {
            CIFAR10DVS::load_origin_data(f)
        })
    }
    fn get_h_w(&self) -> (usize, usize) {
        (128, 128)
    }
    fn train_split(&self) -> bool {
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::DatasetError;
    use crate::fixtures::aedat2_file;

    #[test]
    fn checklist_251_cifar10_dvs_bit_layout_and_flips() {
        assert_eq!(read_bits(&[0xABCD], Some(0xFF0), Some(4)), [0xBC]);
        assert_eq!(read_bits(&[0xABCD], None, None), [0xABCD]);
        let dir = crate::neuromorphic::tests::test_dir("cifar10_dvs");
        let f = dir.join("cifar10_airplane_0.aedat");
        // Address = y_raw << 8 | x_raw << 1 | p_raw: (x_raw=3, y_raw=100, p=1) and (x_raw=127, y_raw=0, p=0).
        let a0 = (100 << 8) | (3 << 1) | 1;
        let a1 = 127 << 1;
        let bytes = aedat2_file(&[(a0, 1000), (a1, 0x0102_0304)]);
        assert_eq!(skip_header(&bytes), bytes.len() - 16);
        std::fs::write(&f, &bytes).unwrap();
        let (t, addr) = load_raw_events(&f, 0, 0, false, false).unwrap();
        assert_eq!(
            (t.clone(), addr.clone()),
            (vec![1000, 0x0102_0304], vec![a0, a1])
        );
        let (x, y, p) = parse_raw_address(&addr, AddressLayout::cifar10_dvs());
        assert_eq!((x, y, p), (vec![3, 127], vec![100, 0], vec![true, false]));
        // The DAVIS defaults read other bits: x = bits 12-21, y = bits 22-30, p = bit 11.
        let (x, y, p) = parse_raw_address(
            &[(5 << 22) | (9 << 12) | (1 << 11)],
            AddressLayout::default(),
        );
        assert_eq!((x, y, p), (vec![9], vec![5], vec![true]));
        let e = CIFAR10DVS::load_origin_data(&f).unwrap();
        assert_eq!(
            e,
            Events::new(
                vec![1000, 0x0102_0304],
                vec![27, 127],
                vec![124, 0],
                vec![0, 1]
            )
            .unwrap()
        );
        // filter_dvs drops addresses with bit 31 set; times_first swaps the columns.
        std::fs::write(&f, aedat2_file(&[(a0, 1), (0x8000_0000 | a1, 2)])).unwrap();
        assert_eq!(
            load_raw_events(&f, 0, 0, true, false).unwrap(),
            (vec![1], vec![a0])
        );
        assert_eq!(
            load_raw_events(&f, 0, 0, false, true).unwrap().0,
            vec![a0, 0x8000_0000 | a1]
        );
        // A truncated event names the file and offset.
        let mut cut = aedat2_file(&[(a0, 1)]);
        let at = cut.len() - 8;
        cut.extend_from_slice(&[1, 2, 3]);
        std::fs::write(&f, &cut).unwrap();
        let err = CIFAR10DVS::load_origin_data(&f).unwrap_err().to_string();
        assert!(
            err.contains("cifar10_airplane_0.aedat")
                && err.contains(&format!("at byte {}", at + 8)),
            "{err}"
        );
        let e = load_raw_events(&f, 100, 0, false, false).unwrap_err();
        assert!(
            matches!(&e, DatasetError::Reader { reader, source } if reader == "load_raw_events" && matches!(**source, DatasetError::Format { .. })),
            "{e}"
        );
        // A skip past the end of the address space is "no event data", not an overflow.
        assert!(load_raw_events(&f, usize::MAX, 0, false, false)
            .unwrap_err()
            .to_string()
            .contains("no event data after the header"));
    }
}
