//! NAV Gesture (240 x 304, 6 classes, no official split): ATIS `_td.dat` recordings (kAER).
//!
//! Optional `%` header lines, then (only after a header) an event-type byte and an event-size byte
//! (must be 8); then 64-bit little-endian events: `t` = bits 0–31, `x` = bits 32–40, `y` = bits
//! 41–48, `p` = bit 49. On load `y` is flipped (`y = 239 − y`); the label is the second
//! `_`-separated token of the file name (`le ri up do ho se`).
use super::folder::{collect_files, extract_nested_zips, NeuromorphicSource, Resource};
use super::events::{narrow, Events};
use super::io::{create_dir, read_file, Bytes};
use super::parallel::par_for_each;
use crate::error::{DatasetError, Result};
use std::path::{Path, PathBuf};

/// The six gesture labels: left, right, up, down, home, select.
pub const NAV_GESTURE_LABELS: [&str; 6] = ["le", "ri", "up", "do", "ho", "se"];

/// What [`read_atis_tddat`] returns: SpikingJelly's `(timestamps, coords, polarities, removed_events)`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct TdDat {
    /// Timestamps (µs).
    pub timestamps: Vec<i64>,
    /// Column of each event.
    pub x: Vec<u16>,
    /// Row of each event (as recorded, not flipped).
    pub y: Vec<u16>,
    /// Polarities.
    pub polarities: Vec<u8>,
    /// Events removed by `drop_negative_dt`, or −1 when it is off.
    pub removed_events: i64,
}

/// `readATIS_tddat(file_name, orig_at_zero, drop_negative_dt, verbose=False, events_restriction)`,
/// reproducing the source's behaviour exactly: an event is kept when its index is at least
/// `events_restriction.0` and its timestamp is not below the value stored at the previous index
/// (0 where the previous event was rejected); the arrays are then cut to the number kept; with
/// `orig_at_zero` timestamps start at 0; with `drop_negative_dt` events whose timestamp is below
/// their predecessor's are removed in passes until none is left. Reading stops after index
/// `events_restriction.1` when given. A trailing partial event is an error (the source ignores it).
pub fn read_atis_tddat(file: impl AsRef<Path>, orig_at_zero: bool, drop_negative_dt: bool, events_restriction: (usize, Option<usize>)) -> Result<TdDat> {
    let file = file.as_ref();
    let data = read_file(file)?;
    let mut b = Bytes::new(file, &data);
    let mut header = false;
    while b.peek() == Some(b'%') {
        b.line();
        header = true;
    }
    if header {
        let _ev_type = b.u8("event type")?;
        let at = b.pos();
        let ev_size = b.u8("event size")?;
        if ev_size != 8 {
            return Err(b.error_at(at, format!("event size {ev_size}, only 8-byte events are supported")));
        }
    }
    let start = b.pos();
    if b.remaining() % 8 != 0 {
        return Err(b.error_at(start + b.remaining() / 8 * 8, format!("truncated event: {} bytes left over", b.remaining() % 8)));
    }
    let n = b.remaining() / 8;
    let (mut ts, mut xs, mut ys, mut ps) = (vec![0i64; n], vec![0u16; n], vec![0u16; n], vec![0u8; n]);
    let mut actual = 0;
    for i in 0..n {
        let ev = b.u64_le("event")?;
        let t = (ev & 0xFFFF_FFFF) as i64;
        if i >= events_restriction.0 && t >= ts[i.saturating_sub(1)] {
            actual += 1;
            ts[i] = t;
            ps[i] = ((ev & 0x0002_0000_0000_0000) >> 49) as u8;
            ys[i] = ((ev & 0x0001_FE00_0000_0000) >> 41) as u16;
            xs[i] = ((ev & 0x0000_01FF_0000_0000) >> 32) as u16;
        }
        if events_restriction.1.is_some_and(|last| i > last) {
            break;
        }
    }
    ts.truncate(actual);
    xs.truncate(actual);
    ys.truncate(actual);
    ps.truncate(actual);
    if orig_at_zero {
        if let Some(&t0) = ts.first() {
            ts.iter_mut().for_each(|t| *t -= t0);
        }
    }
    let mut removed = -1;
    if drop_negative_dt {
        removed = 0;
        loop {
            let mut neg = Vec::new();
            let mut i = 0;
            while i + 1 < ts.len() {
                if ts[i + 1] < ts[i] {
                    neg.push(i + 1);
                    i += 1;
                }
                i += 1;
            }
            if neg.is_empty() {
                break;
            }
            removed += neg.len() as i64;
            let mut keep = vec![true; ts.len()];
            neg.iter().for_each(|&i| keep[i] = false);
            retain_mask(&mut ts, &keep);
            retain_mask(&mut xs, &keep);
            retain_mask(&mut ys, &keep);
            retain_mask(&mut ps, &keep);
        }
    }
    Ok(TdDat { timestamps: ts, x: xs, y: ys, polarities: ps, removed_events: removed })
}

/// Keeps the elements of `v` whose entry in `keep` (as long as `v`) is true.
fn retain_mask<T>(v: &mut Vec<T>, keep: &[bool]) {
    let mut i = 0;
    v.retain(|_| {
        i += 1;
        keep[i - 1]
    });
}

/// The NAV Gesture datasets (SpikingJelly's `NAVGestureWalk` and `NAVGestureSit`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum NAVGesture {
    /// `NAVGestureWalk`: `navgesture-walk.zip`.
    #[default]
    Walk,
    /// `NAVGestureSit`: `navgesture-sit.zip`.
    Sit,
}

impl NAVGesture {
    /// `load_origin_data(file_name)`: `read_atis_tddat` with the defaults, then `y = 239 − y`.
    pub fn load_origin_data(file: impl AsRef<Path>) -> Result<Events> {
        let file = file.as_ref();
        let d = read_atis_tddat(file, true, true, (0, None))?;
        let what = file.display().to_string();
        let y: Vec<i64> = d.y.iter().map(|&y| 239 - y as i64).collect();
        Events::new(d.timestamps, d.x, narrow(&y, &what, "239 - y")?, d.polarities)
    }

    fn archive(&self) -> &'static str {
        match self {
            NAVGesture::Walk => "navgesture-walk.zip",
            NAVGesture::Sit => "navgesture-sit.zip",
        }
    }
}

impl NeuromorphicSource for NAVGesture {
    fn name(&self) -> &'static str {
        match self {
            NAVGesture::Walk => "NAVGestureWalk",
            NAVGesture::Sit => "NAVGestureSit",
        }
    }
    fn resource_url_md5(&self) -> Vec<Resource> {
        let (url, md5) = match self {
            NAVGesture::Walk => ("https://www.neuromorphic-vision.com/public/downloads/navgesture/navgesture-walk.zip", "5d305266f13005401959e819abe206f0"),
            NAVGesture::Sit => ("https://www.neuromorphic-vision.com/public/downloads/navgesture/navgesture-sit.zip", "1571753ace4d9e0946e6503313712c22"),
        };
        vec![Resource { file_name: self.archive(), url, md5: Some(md5) }]
    }
    fn downloadable(&self) -> bool {
        true
    }
    fn extract_downloaded_files(&self, download_root: &Path, extract_root: &Path) -> Result<()> {
        extract_nested_zips(&download_root.join(self.archive()), extract_root)
    }
    /// Converts every `.dat` file under `extract_root` into `events_np/<label>/<stem>.npz`.
    fn create_events_np_files(&self, extract_root: &Path, events_np_root: &Path) -> Result<()> {
        for label in NAV_GESTURE_LABELS {
            create_dir(&events_np_root.join(label))?;
        }
        let mut files = Vec::new();
        collect_files(extract_root, &mut files)?;
        let mut jobs: Vec<(PathBuf, PathBuf)> = Vec::new();
        for f in files.into_iter().filter(|f| f.extension().is_some_and(|e| e == "dat")) {
            let stem = f.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
            let label = stem.split('_').nth(1).filter(|l| NAV_GESTURE_LABELS.contains(l)).ok_or_else(|| {
                DatasetError::config("NAVGesture", format!("{}: the second `_` token of the name is not one of {NAV_GESTURE_LABELS:?}", f.display()))
            })?;
            jobs.push((f.clone(), events_np_root.join(label).join(format!("{stem}.npz"))));
        }
        par_for_each("events_np", &jobs, |(src, dst)| NAVGesture::load_origin_data(src)?.save_npz(dst))
    }
    fn get_h_w(&self) -> (usize, usize) {
        (240, 304)
    }
    fn train_split(&self) -> bool {
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A kAER event word: t in bits 0–31, x in 32–40, y in 41–48, p in bit 49.
    fn ev(t: u32, x: u64, y: u64, p: u64) -> [u8; 8] {
        ((t as u64) | (x << 32) | (y << 41) | (p << 49)).to_le_bytes()
    }

    #[test]
    fn checklist_256_td_dat_layout_and_source_quirks() {
        let dir = crate::neuromorphic::tests::test_dir("nav_gesture");
        let f = dir.join("user01_le_0001_td.dat");
        let mut bytes = b"% Data file containing ATIS TD events.\n% Version 2\n".to_vec();
        bytes.extend_from_slice(&[0, 8]); // event type 0, event size 8
        for e in [ev(100, 303, 0, 1), ev(150, 7, 239, 0), ev(120, 1, 1, 1), ev(200, 2, 2, 0)] {
            bytes.extend_from_slice(&e);
        }
        std::fs::write(&f, &bytes).unwrap();
        let raw = read_atis_tddat(&f, false, false, (0, None)).unwrap();
        // Event 2 (t=120 < 150) is rejected, leaving a zero hole at index 2; the arrays are cut to 3.
        assert_eq!(raw.timestamps, [100, 150, 0]);
        assert_eq!((raw.x.clone(), raw.y.clone(), raw.polarities.clone()), (vec![303, 7, 0], vec![0, 239, 0], vec![1, 0, 0]));
        assert_eq!(raw.removed_events, -1);
        // Defaults: origin at zero (0, 50, -100), then the negative step is dropped.
        let d = read_atis_tddat(&f, true, true, (0, None)).unwrap();
        assert_eq!((d.timestamps.clone(), d.removed_events), (vec![0, 50], 1));
        let e = NAVGesture::load_origin_data(&f).unwrap();
        assert_eq!((e.x, e.y, e.p), (vec![303, 7], vec![239, 0], vec![1, 0]));
        // Without a header there are no type/size bytes; a partial event is an error.
        std::fs::write(&f, [ev(5, 1, 2, 1).as_slice(), &[1, 2, 3]].concat()).unwrap();
        let err = read_atis_tddat(&f, true, true, (0, None)).unwrap_err().to_string();
        assert!(err.contains("user01_le_0001_td.dat") && err.contains("at byte 8"), "{err}");
        let mut bad = b"%h\n".to_vec();
        bad.extend_from_slice(&[0, 4]);
        std::fs::write(&f, bad).unwrap();
        assert!(read_atis_tddat(&f, true, true, (0, None)).unwrap_err().to_string().contains("at byte 4: event size 4"));
    }
}
