//! Small files in each on-disk format the readers take, written byte for byte as each format's
//! documentation lays it out, plus one `.npz` written by numpy itself: for tests, examples and
//! hand-made samples. Every writer here is read back by its reader in this crate's tests. The
//! `.npy`/`.npz` and frame writers are [`write_npz`](crate::neuromorphic::write_npz),
//! [`Events::save_npz`](crate::neuromorphic::Events::save_npz) and
//! [`save_frames_to_npz`](crate::neuromorphic::save_frames_to_npz).
use crate::error::{DatasetError, Result};
use crate::neuromorphic::mat5::{MI_COMPRESSED, MI_INT32, MI_INT8, MI_MATRIX, MI_UINT32};
use crate::neuromorphic::{Events, NeuromorphicSource, Resource};
use flate2::write::{GzEncoder, ZlibEncoder};
use flate2::Compression;
use hdf5::types::VarLenArray;
use std::io::Write;
use std::path::Path;

/// A zip archive of `(name, bytes)` entries, deflated when `compress`, else stored (what
/// [`write_npz`](crate::neuromorphic::write_npz) writes; the dataset archives are zips too).
pub use crate::neuromorphic::zip::write_archive as zip_archive;

/// `bytes` compressed by `encoder` (`what` names the caller in the error, which writing to
/// memory never gives).
fn compress<W: Write>(
    mut encoder: W,
    bytes: &[u8],
    what: &str,
    finish: impl FnOnce(W) -> std::io::Result<Vec<u8>>,
) -> Result<Vec<u8>> {
    encoder
        .write_all(bytes)
        .and_then(|_| finish(encoder))
        .map_err(|e| DatasetError::config(what, e.to_string()))
}

/// A length as the `u32` field of a format, or an error naming `what`.
fn len32(n: usize, what: &str) -> Result<u32> {
    u32::try_from(n).map_err(|_| {
        DatasetError::config(what, format!("{n} bytes do not fit a 32-bit length field"))
    })
}

/// `np.savez_compressed('ev_c.npz', t=[1,5,9], x=[3,4,5], y=[0,33,7], p=[1,0,1])`, all
/// `np.uint32`, as written by numpy 2.4 (ZIP64 local headers, deflate).
pub fn numpy_events_npz() -> Vec<u8> {
    const HEX: &str = "504b03042d00000008000000210089f2c471ffffffffffffffff05001400742e6e7079010010008c000000000000004d\
000000000000009bec17ea1b10c9c850c650ad9e925a9c5ca46ea5a06e536aa2aea3a09e965f54529498179f5f94920a\
12774bcc294e058a17672416a402f91ac63a9a3a0ab50a14002e460606065620e6046200504b03042d00000008000000\
210030d3831bffffffffffffffff05001400782e6e7079010010008c000000000000004d000000000000009bec17ea1b\
10c9c850c650ad9e925a9c5ca46ea5a06e536aa2aea3a09e965f54529498179f5f94920a12774bcc294e058a17672416\
a402f91ac63a9a3a0ab50a14002e66060606162066056200504b03042d00000008000000210079a58277ffffffffffff\
ffff05001400792e6e7079010010008c000000000000004c000000000000009bec17ea1b10c9c850c650ad9e925a9c5c\
a46ea5a06e536aa2aea3a09e965f54529498179f5f94920a12774bcc294e058a17672416a402f91ac63a9a3a0ab50a14\
002e062050046276200600504b03042d00000008000000210002d490fcffffffffffffffff05001400702e6e70790100\
10008c0000000000000049000000000000009bec17ea1b10c9c850c650ad9e925a9c5ca46ea5a06e536aa2aea3a09e96\
5f54529498179f5f94920a12774bcc294e058a17672416a402f91ac63a9a3a0ab50a14002e46060800d100504b01022d\
032d00000008000000210089f2c4714d0000008c000000050000000000000000000000800100000000742e6e7079504b\
01022d032d00000008000000210030d3831b4d0000008c000000050000000000000000000000800184000000782e6e70\
79504b01022d032d00000008000000210079a582774c0000008c00000005000000000000000000000080010801000079\
2e6e7079504b01022d032d00000008000000210002d490fc490000008c00000005000000000000000000000080018b01\
0000702e6e7079504b05060000000004000400cc0000000b0200000000";
    let digit = |c: u8| (c as char).to_digit(16).unwrap_or(0) as u8;
    HEX.as_bytes()
        .chunks_exact(2)
        .map(|p| digit(p[0]) << 4 | digit(p[1]))
        .collect()
}

/// A `.npy` file (format 1.0) whose header is the text `dict` (e.g. `{'descr': '<f4',
/// 'fortran_order': False, 'shape': (2,), }`, written as given, then a newline) over `body`: for
/// arrays whose header says anything at all. [`NpyArray::to_npy_bytes`] writes consistent ones.
///
/// [`NpyArray::to_npy_bytes`]: crate::neuromorphic::NpyArray::to_npy_bytes
pub fn npy(dict: &str, body: &[u8]) -> Result<Vec<u8>> {
    let header = format!("{dict}\n");
    let len = u16::try_from(header.len()).map_err(|_| {
        DatasetError::config(
            "npy",
            format!(
                "a {}-byte header does not fit format 1.0's 16-bit length",
                header.len()
            ),
        )
    })?;
    Ok([
        b"\x93NUMPY\x01\x00".as_slice(),
        &len.to_le_bytes(),
        header.as_bytes(),
        body,
    ]
    .concat())
}

/// The 28-byte header of an AEDAT 3.1 packet of `capacity` events of `size` bytes (event source
/// 1, timestamp offset 4, every event counted as present and valid).
pub fn aedat3_packet_header(event_type: u16, size: u32, overflow: u32, capacity: u32) -> Vec<u8> {
    let mut h = Vec::with_capacity(28);
    h.extend_from_slice(&event_type.to_le_bytes());
    h.extend_from_slice(&1u16.to_le_bytes()); // source
    h.extend_from_slice(&size.to_le_bytes());
    h.extend_from_slice(&4u32.to_le_bytes()); // timestamp offset within the event
    h.extend_from_slice(&overflow.to_le_bytes());
    h.extend_from_slice(&capacity.to_le_bytes());
    h.extend_from_slice(&capacity.to_le_bytes()); // number
    h.extend_from_slice(&capacity.to_le_bytes()); // valid
    h
}

/// An AEDAT 3.1 polarity event `(x, y, p)` at `ts`, laid out per the documentation: bit 0 valid,
/// bit 1 polarity, bits 2–16 `y`, bits 17–31 `x`. `x` and `y` must fit in 15 bits, `p` in one.
pub fn aedat3_polarity_event(x: u32, y: u32, p: u32, ts: u32) -> Result<Vec<u8>> {
    if x > 0x7FFF || y > 0x7FFF || p > 1 {
        return Err(DatasetError::config(
            "aedat3_polarity_event",
            format!("x = {x} and y = {y} need 15 bits, p = {p} one"),
        ));
    }
    let data = (x << 17) | (y << 2) | (p << 1) | 1;
    Ok([data.to_le_bytes(), ts.to_le_bytes()].concat())
}

/// An AEDAT 3.1 file as DVS128 Gesture's: the header lines of the documentation, a special-event
/// packet (type 0, which readers skip), then one polarity packet per `(x, y, p, ts, overflow)`.
pub fn aedat3_gesture_file(events: &[(u32, u32, u32, u32, u32)]) -> Result<Vec<u8>> {
    let mut f = b"#!AER-DAT3.1\r\n#Format: RAW\r\n#Source 1: DVS128\r\n#Start-Time: 2017-01-01 12:00:00\r\n#!END-HEADER\r\n".to_vec();
    f.extend(aedat3_packet_header(0, 8, 0, 1));
    f.extend([0u8; 8]);
    for &(x, y, p, ts, overflow) in events {
        f.extend(aedat3_packet_header(1, 8, overflow, 1));
        f.extend(aedat3_polarity_event(x, y, p, ts)?);
    }
    Ok(f)
}

/// An AEDAT 2 file as the CIFAR10-DVS recordings: `#!AER-DAT2.0` header lines, then big-endian
/// `(address, timestamp)` pairs.
pub fn aedat2_file(events: &[(u32, u32)]) -> Vec<u8> {
    let mut f = b"#!AER-DAT2.0\r\n# This is a raw AE data file created by saveaerdat.m\r\n# Data format is int32 address, int32 timestamp (8 bytes total)\r\n".to_vec();
    for &(a, t) in events {
        f.extend_from_slice(&a.to_be_bytes());
        f.extend_from_slice(&t.to_be_bytes());
    }
    f
}

/// A kAER ATIS TD event word (NAV Gesture's `_td.dat`): `t` in bits 0–31, `x` in 32–40, `y` in
/// 41–48, `p` in bit 49; `x` must fit in 9 bits.
pub fn td_event(t: u32, x: u16, y: u8, p: bool) -> Result<[u8; 8]> {
    if x > 0x1FF {
        return Err(DatasetError::config(
            "td_event",
            format!("x = {x} needs 9 bits"),
        ));
    }
    Ok((u64::from(t) | u64::from(x) << 32 | u64::from(y) << 41 | u64::from(p) << 49).to_le_bytes())
}

/// A `_td.dat` file as kAER writes it: two `%` header lines, event type 0 and size 8, then `events`.
pub fn td_dat(events: &[[u8; 8]]) -> Vec<u8> {
    let mut bytes = b"% Data file containing ATIS TD events.\n% Version 2\n".to_vec();
    bytes.extend_from_slice(&[0, 8]);
    events.iter().for_each(|e| bytes.extend_from_slice(e));
    bytes
}

/// The 128-byte MAT v5 header: text, subsystem offset, version 0x0100 and the endian indicator
/// (`IM` little-endian, `MI` when `big`), written in that byte order.
pub fn mat5_header(big: bool) -> Vec<u8> {
    let mut h =
        b"MATLAB 5.0 MAT-file, Platform: GLNXA64, Created on: Mon Jan  1 00:00:00 2018".to_vec();
    h.resize(116, b' ');
    h.extend_from_slice(&[0u8; 8]);
    h.extend_from_slice(&mat5_u16(0x0100, big));
    h.extend_from_slice(if big { b"MI" } else { b"IM" });
    h
}

fn mat5_u16(v: u16, big: bool) -> [u8; 2] {
    if big {
        v.to_be_bytes()
    } else {
        v.to_le_bytes()
    }
}

fn mat5_u32(v: u32, big: bool) -> [u8; 4] {
    if big {
        v.to_be_bytes()
    } else {
        v.to_le_bytes()
    }
}

/// A MAT data element padded to 8 bytes (the small format when `data` fits in 4 bytes and `small`).
fn mat5_element(kind: u32, data: &[u8], big: bool, small: bool) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    if small && data.len() <= 4 {
        out.extend_from_slice(&mat5_u32(((data.len() as u32) << 16) | kind, big));
        out.extend_from_slice(data);
        out.resize(8, 0);
        return Ok(out);
    }
    out.extend_from_slice(&mat5_u32(kind, big));
    out.extend_from_slice(&mat5_u32(len32(data.len(), "mat5_matrix")?, big));
    out.extend_from_slice(data);
    out.resize(out.len().div_ceil(8) * 8, 0);
    Ok(out)
}

/// A `miMATRIX` element: array class `class` (6 double, 7 single, 8–15 int8 to uint64),
/// dimensions `dims`, name `name`, and `values` stored as MAT data type `kind` (e.g.
/// [`MI_DOUBLE`](crate::neuromorphic::mat5::MI_DOUBLE)), column-major, in the file's byte order.
pub fn mat5_matrix(
    name: &str,
    class: u32,
    dims: &[i32],
    kind: u32,
    values: &[u8],
    big: bool,
) -> Result<Vec<u8>> {
    let mut body = mat5_element(
        MI_UINT32,
        &[mat5_u32(class, big), [0; 4]].concat(),
        big,
        false,
    )?;
    let dims: Vec<u8> = dims
        .iter()
        .flat_map(|d| {
            if big {
                d.to_be_bytes()
            } else {
                d.to_le_bytes()
            }
        })
        .collect();
    body.extend(mat5_element(MI_INT32, &dims, big, false)?);
    body.extend(mat5_element(MI_INT8, name.as_bytes(), big, true)?);
    body.extend(mat5_element(kind, values, big, true)?);
    let mut out = mat5_u32(MI_MATRIX, big).to_vec();
    out.extend_from_slice(&mat5_u32(len32(body.len(), "mat5_matrix")?, big));
    out.extend(body);
    Ok(out)
}

/// `element` (little-endian) wrapped in a `miCOMPRESSED` element, as MAT v7 files store variables.
pub fn mat5_compressed(element: &[u8]) -> Result<Vec<u8>> {
    let z = compress(
        ZlibEncoder::new(Vec::new(), Compression::default()),
        element,
        "mat5_compressed",
        |e| e.finish(),
    )?;
    Ok([
        mat5_u32(MI_COMPRESSED, false).to_vec(),
        mat5_u32(len32(z.len(), "mat5_compressed")?, false).to_vec(),
        z,
    ]
    .concat())
}

/// A `.tar.gz` of `(name, bytes)` files (names ending in `/` are directories), ustar headers
/// written by the `tar` crate (GNU long-name records for names over 100 bytes).
pub fn tar_gz(files: &[(&str, &[u8])]) -> Result<Vec<u8>> {
    let err = |e: std::io::Error| DatasetError::config("tar_gz", e.to_string());
    let mut b = tar::Builder::new(GzEncoder::new(Vec::new(), Compression::default()));
    for (name, data) in files {
        let mut h = tar::Header::new_ustar();
        if name.ends_with('/') {
            h.set_entry_type(tar::EntryType::Directory);
            h.set_mode(0o755);
            h.set_size(0);
            b.append_data(&mut h, name, std::io::empty()).map_err(err)?;
        } else {
            h.set_mode(0o644);
            h.set_size(data.len() as u64);
            b.append_data(&mut h, name, *data).map_err(err)?;
        }
    }
    b.into_inner().and_then(|gz| gz.finish()).map_err(err)
}

/// A neuromorphic source whose archives are not checked against their published MD5 sums, for
/// tests that put hand-made archives in `download/` (everything else is `S`'s own).
pub struct Unverified<S>(pub S);

impl<S: NeuromorphicSource> NeuromorphicSource for Unverified<S> {
    fn name(&self) -> &'static str {
        self.0.name()
    }
    fn resource_url_md5(&self) -> Vec<Resource> {
        let mut resources = self.0.resource_url_md5();
        resources.iter_mut().for_each(|r| r.md5 = None);
        resources
    }
    fn downloadable(&self) -> bool {
        self.0.downloadable()
    }
    fn extract_downloaded_files(&self, download_root: &Path, extract_root: &Path) -> Result<()> {
        self.0.extract_downloaded_files(download_root, extract_root)
    }
    fn create_events_np_files(&self, extract_root: &Path, events_np_root: &Path) -> Result<()> {
        self.0.create_events_np_files(extract_root, events_np_root)
    }
    fn get_h_w(&self) -> (usize, usize) {
        self.0.get_h_w()
    }
    fn load_events_np(&self, file: &Path) -> Result<Events> {
        self.0.load_events_np(file)
    }
    fn train_split(&self) -> bool {
        self.0.train_split()
    }
}

/// Writes an SHD-layout HDF5 file at `path`: vlen float32 `spikes/times`, vlen uint16
/// `spikes/units` and uint8 `labels`, one `(times, units, label)` per sample.
pub fn shd_h5(path: &Path, samples: &[(&[f32], &[u16], u8)]) -> Result<()> {
    let err = |e: hdf5::Error| DatasetError::config("shd_h5", format!("{}: {e}", path.display()));
    let f = hdf5::File::create(path).map_err(err)?;
    let g = f.create_group("spikes").map_err(err)?;
    let times: Vec<VarLenArray<f32>> = samples
        .iter()
        .map(|s| VarLenArray::from_slice(s.0))
        .collect();
    let units: Vec<VarLenArray<u16>> = samples
        .iter()
        .map(|s| VarLenArray::from_slice(s.1))
        .collect();
    let labels: Vec<u8> = samples.iter().map(|s| s.2).collect();
    g.new_dataset_builder()
        .with_data(times.as_slice())
        .create("times")
        .map_err(err)?;
    g.new_dataset_builder()
        .with_data(units.as_slice())
        .create("units")
        .map_err(err)?;
    f.new_dataset_builder()
        .with_data(labels.as_slice())
        .create("labels")
        .map_err(err)?;
    Ok(())
}

/// A DVS128 Gesture root in the published layout with synthetic recordings: `download/` holds
/// `DvsGesture.tar.gz` (`DvsGesture/trials_to_{train,test}.txt`, one AEDAT 3.1 recording and its
/// `_labels.csv` per user) and empty placeholders for IBM's other files. User `u` of
/// `train_users + test_users` performs the 11 gestures in order, 300 ms each; gesture `c` is a
/// blob of `events_per_gesture` events moving from the centre in direction `2πc/11` (ON events
/// for even classes, OFF for odd), with seeded jitter. Open it with
/// [`Unverified`]`(DVS128Gesture)`: the archive is not IBM's (its MD5 sum differs).
pub fn dvs128_gesture_synthetic(
    root: &Path,
    train_users: usize,
    test_users: usize,
    events_per_gesture: usize,
) -> Result<()> {
    use crate::neuromorphic::DVS128Gesture;
    let mut rng = crate::shuffle::SplitMix64::new(11);
    let mut files: Vec<(String, Vec<u8>)> = vec![("DvsGesture/".into(), Vec::new())];
    let (mut train, mut test) = (String::new(), String::new());
    for user in 1..=train_users + test_users {
        let stem = format!("user{user:02}_synthetic");
        let mut events = Vec::new();
        let mut csv = String::from("class,startTime_usec,endTime_usec\n");
        for class in 0..11u32 {
            let start = 1_000 + class * 300_000;
            let angle = std::f64::consts::TAU * class as f64 / 11.0;
            for k in 0..events_per_gesture {
                let frac = k as f64 / events_per_gesture as f64;
                let r = 50.0 * frac;
                let jitter = |rng: &mut crate::shuffle::SplitMix64| rng.below(9) as f64 - 4.0;
                let x = (64.0 + r * angle.cos() + jitter(&mut rng)).clamp(0.0, 127.0) as u32;
                let y = (64.0 + r * angle.sin() + jitter(&mut rng)).clamp(0.0, 127.0) as u32;
                let ts = start + (frac * 290_000.0) as u32;
                events.push((x, y, 1 - class % 2, ts, 0));
            }
            csv.push_str(&format!("{},{},{}\n", class + 1, start, start + 300_000));
        }
        let list = if user <= train_users {
            &mut train
        } else {
            &mut test
        };
        list.push_str(&format!("{stem}.aedat\n"));
        files.push((
            format!("DvsGesture/{stem}.aedat"),
            aedat3_gesture_file(&events)?,
        ));
        files.push((format!("DvsGesture/{stem}_labels.csv"), csv.into_bytes()));
    }
    files.push(("DvsGesture/trials_to_train.txt".into(), train.into_bytes()));
    files.push(("DvsGesture/trials_to_test.txt".into(), test.into_bytes()));
    let entries: Vec<(&str, &[u8])> = files
        .iter()
        .map(|(n, b)| (n.as_str(), b.as_slice()))
        .collect();
    let download = root.join("download");
    let io = |e: std::io::Error| {
        DatasetError::config(
            "dvs128_gesture_synthetic",
            format!("{}: {e}", download.display()),
        )
    };
    std::fs::create_dir_all(&download).map_err(io)?;
    std::fs::write(download.join("DvsGesture.tar.gz"), tar_gz(&entries)?).map_err(io)?;
    for r in &DVS128Gesture.resource_url_md5()[1..] {
        std::fs::write(download.join(r.file_name), b"").map_err(io)?;
    }
    Ok(())
}
