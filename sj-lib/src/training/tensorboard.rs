//! `SummaryWriter`: scalars in TensorBoard's event-file format (`events.out.tfevents.*`), as
//! `torch.utils.tensorboard.SummaryWriter` writes them; and [`read_scalars`] to read them back.
//!
//! The file is a sequence of TFRecords (`u64` length, masked CRC-32C of the length, data, masked
//! CRC-32C of the data), each holding one `Event` protobuf (tensorflow/core/util/event.proto).
use crate::error::{Result, SjError};
use std::fs::{File, OpenOptions};
use std::io::{BufWriter, ErrorKind, Write};
use std::path::{Path, PathBuf};

/// The CRC-32C (Castagnoli, reflected polynomial 0x82F63B78) lookup table.
const CRC_TABLE: [u32; 256] = {
    let mut table = [0u32; 256];
    let mut i = 0;
    while i < 256 {
        let mut c = i as u32;
        let mut k = 0;
        while k < 8 {
            c = if c & 1 != 0 {
                (c >> 1) ^ 0x82F6_3B78
            } else {
                c >> 1
            };
            k += 1;
        }
        table[i] = c;
        i += 1;
    }
    table
};

/// CRC-32C of `data`.
fn crc32c(data: &[u8]) -> u32 {
    !data.iter().fold(!0u32, |c, &b| {
        CRC_TABLE[((c ^ b as u32) & 0xff) as usize] ^ (c >> 8)
    })
}

/// The masked CRC-32C that TFRecord stores.
fn masked_crc(data: &[u8]) -> u32 {
    let c = crc32c(data);
    c.rotate_right(15).wrapping_add(0xa282_ead8)
}

/// Appends `v` as a protobuf varint (a negative `int64` is its 10-byte two's complement).
fn put_varint(buf: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        buf.push((v as u8 & 0x7f) | 0x80);
        v >>= 7;
    }
    buf.push(v as u8);
}

/// Appends a length-delimited field: its tag byte, the length, the bytes.
fn put_bytes(buf: &mut Vec<u8>, tag: u8, bytes: &[u8]) {
    buf.push(tag);
    put_varint(buf, bytes.len() as u64);
    buf.extend_from_slice(bytes);
}

/// Seconds since the Unix epoch.
fn now() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

/// Writes scalars to a new TensorBoard event file in a log directory; `tensorboard --logdir`
/// shows them (the Rust side of `torch.utils.tensorboard.SummaryWriter`). Writes are buffered:
/// [`SummaryWriter::flush`] (or dropping the writer) puts them on disk.
#[derive(Debug)]
pub struct SummaryWriter {
    file: BufWriter<File>,
    path: PathBuf,
}

impl SummaryWriter {
    /// Creates `log_dir` (and its parents) and a new file
    /// `events.out.tfevents.<unix seconds>.<hostname>` in it (with a suffix `.1`, `.2`, ... if
    /// that name is taken, so two writers never share a file), and writes the first event.
    pub fn new(log_dir: impl AsRef<Path>) -> Result<Self> {
        let dir = log_dir.as_ref();
        let io = |path: &Path| {
            let path = path.display().to_string();
            move |source: std::io::Error| SjError::Io { path, source }
        };
        std::fs::create_dir_all(dir).map_err(io(dir))?;
        let host = std::fs::read_to_string("/etc/hostname")
            .ok()
            .map(|h| h.trim().to_string())
            .filter(|h| !h.is_empty())
            .or_else(|| std::env::var("HOSTNAME").ok().filter(|h| !h.is_empty()))
            .unwrap_or_else(|| "localhost".into());
        let host: String = host
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || "-_.".contains(c) {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        let base = format!("events.out.tfevents.{}.{host}", now() as u64);
        for n in 0..1000 {
            let name = if n == 0 {
                base.clone()
            } else {
                format!("{base}.{n}")
            };
            let path = dir.join(name);
            match OpenOptions::new().write(true).create_new(true).open(&path) {
                Ok(f) => {
                    let mut w = SummaryWriter {
                        file: BufWriter::new(f),
                        path,
                    };
                    let mut event = vec![0x09];
                    event.extend_from_slice(&now().to_le_bytes());
                    put_bytes(&mut event, 0x1a, b"brain.Event:2");
                    w.write_record(&event)?;
                    w.flush()?;
                    return Ok(w);
                }
                Err(e) if e.kind() == ErrorKind::AlreadyExists => continue,
                Err(e) => return Err(io(&path)(e)),
            }
        }
        Err(SjError::config(
            "SummaryWriter",
            format!(
                "{}: 1000 event files named {base}.* already exist",
                dir.display()
            ),
        ))
    }

    /// Appends one scalar `value` (stored as `f32`, like TensorBoard's `simple_value`) under
    /// `tag` (e.g. `"train/loss"`) at `step`, stamped with the current time.
    pub fn add_scalar(&mut self, tag: &str, value: f64, step: i64) -> Result<()> {
        let mut v = Vec::with_capacity(tag.len() + 8);
        put_bytes(&mut v, 0x0a, tag.as_bytes());
        v.push(0x15);
        v.extend_from_slice(&(value as f32).to_le_bytes());
        let mut summary = Vec::with_capacity(v.len() + 4);
        put_bytes(&mut summary, 0x0a, &v);
        let mut event = vec![0x09];
        event.extend_from_slice(&now().to_le_bytes());
        if step != 0 {
            event.push(0x10);
            put_varint(&mut event, step as u64);
        }
        put_bytes(&mut event, 0x2a, &summary);
        self.write_record(&event)
    }

    /// Writes everything buffered to the file.
    pub fn flush(&mut self) -> Result<()> {
        self.file.flush().map_err(|source| self.io_error(source))
    }

    /// The event file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Appends `data` as one TFRecord.
    fn write_record(&mut self, data: &[u8]) -> Result<()> {
        let len = (data.len() as u64).to_le_bytes();
        let mut rec = Vec::with_capacity(data.len() + 16);
        rec.extend_from_slice(&len);
        rec.extend_from_slice(&masked_crc(&len).to_le_bytes());
        rec.extend_from_slice(data);
        rec.extend_from_slice(&masked_crc(data).to_le_bytes());
        self.file
            .write_all(&rec)
            .map_err(|source| self.io_error(source))
    }

    fn io_error(&self, source: std::io::Error) -> SjError {
        SjError::Io {
            path: self.path.display().to_string(),
            source,
        }
    }
}

/// A protobuf field's value, by wire type (64-bit values are skipped: none is read back).
enum Field<'a> {
    Varint(u64),
    Fixed64,
    Bytes(&'a [u8]),
    Fixed32([u8; 4]),
}

/// The next `n` bytes at `*pos`, advancing it.
fn take<'a>(buf: &'a [u8], pos: &mut usize, n: usize) -> std::result::Result<&'a [u8], String> {
    let s = buf
        .get(*pos..pos.saturating_add(n))
        .ok_or("truncated field")?;
    *pos += n;
    Ok(s)
}

/// Reads a varint at `*pos`, advancing it.
fn get_varint(buf: &[u8], pos: &mut usize) -> std::result::Result<u64, String> {
    let mut v = 0u64;
    for shift in (0..64).step_by(7) {
        let b = *buf.get(*pos).ok_or("truncated varint")?;
        *pos += 1;
        v |= u64::from(b & 0x7f) << shift;
        if b < 0x80 {
            return Ok(v);
        }
    }
    Err("varint longer than 10 bytes".into())
}

/// The (field number, value) pairs of one protobuf message, in order.
fn fields(buf: &[u8]) -> std::result::Result<Vec<(u64, Field<'_>)>, String> {
    let (mut pos, mut out) = (0, Vec::new());
    while pos < buf.len() {
        let key = get_varint(buf, &mut pos)?;
        let value = match key & 7 {
            0 => Field::Varint(get_varint(buf, &mut pos)?),
            1 => take(buf, &mut pos, 8).map(|_| Field::Fixed64)?,
            2 => {
                let n = get_varint(buf, &mut pos)?;
                let n = usize::try_from(n).map_err(|_| "field too long")?;
                Field::Bytes(take(buf, &mut pos, n)?)
            }
            5 => Field::Fixed32(
                <[u8; 4]>::try_from(take(buf, &mut pos, 4)?).map_err(|_| "bad fixed32")?,
            ),
            w => return Err(format!("unsupported wire type {w}")),
        };
        out.push((key >> 3, value));
    }
    Ok(out)
}

/// The (tag, step, value) of each `simple_value` in one serialized `Event`.
fn event_scalars(event: &[u8]) -> std::result::Result<Vec<(String, i64, f32)>, String> {
    let (mut step, mut values) = (0i64, Vec::new());
    for (num, f) in fields(event)? {
        match (num, f) {
            (2, Field::Varint(s)) => step = s as i64,
            (5, Field::Bytes(summary)) => {
                for (num, f) in fields(summary)? {
                    if let (1, Field::Bytes(value)) = (num, f) {
                        let (mut tag, mut simple) = (String::new(), None);
                        for (num, f) in fields(value)? {
                            match (num, f) {
                                (1, Field::Bytes(t)) => {
                                    tag = String::from_utf8(t.to_vec())
                                        .map_err(|_| "tag not UTF-8")?
                                }
                                (2, Field::Fixed32(b)) => simple = Some(f32::from_le_bytes(b)),
                                _ => {}
                            }
                        }
                        values.extend(simple.map(|v| (tag, v)));
                    }
                }
            }
            _ => {}
        }
    }
    Ok(values.into_iter().map(|(tag, v)| (tag, step, v)).collect())
}

/// Reads back the scalars of a TensorBoard event file: `(tag, step, value)` in file order.
/// Every record's length and data CRCs are checked; a corrupt or truncated file is an error
/// naming the path and the byte offset of the bad record.
pub fn read_scalars(path: impl AsRef<Path>) -> Result<Vec<(String, i64, f32)>> {
    let path = path.as_ref();
    let buf = std::fs::read(path).map_err(|source| SjError::Io {
        path: path.display().to_string(),
        source,
    })?;
    let bad = |off: usize, what: &str| {
        SjError::config(
            "read_scalars",
            format!("{}: bad record at byte {off}: {what}", path.display()),
        )
    };
    let u32_at = |at: usize| {
        buf.get(at..at + 4)
            .and_then(|b| <[u8; 4]>::try_from(b).ok())
            .map(u32::from_le_bytes)
    };
    let (mut off, mut out) = (0usize, Vec::new());
    while off < buf.len() {
        let len_bytes = buf
            .get(off..off + 8)
            .ok_or_else(|| bad(off, "truncated length"))?;
        let crc = u32_at(off + 8).ok_or_else(|| bad(off, "truncated length CRC"))?;
        if masked_crc(len_bytes) != crc {
            return Err(bad(off, "length CRC mismatch"));
        }
        let len = u64::from_le_bytes(len_bytes.try_into().map_err(|_| bad(off, "length"))?);
        let end = usize::try_from(len)
            .ok()
            .and_then(|n| (off + 12).checked_add(n));
        let data = end
            .and_then(|e| buf.get(off + 12..e))
            .ok_or_else(|| bad(off, "truncated data"))?;
        let crc = u32_at(off + 12 + data.len()).ok_or_else(|| bad(off, "truncated data CRC"))?;
        if masked_crc(data) != crc {
            return Err(bad(off, "data CRC mismatch"));
        }
        out.extend(event_scalars(data).map_err(|e| bad(off, &e))?);
        off += 16 + data.len();
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp_dir(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("sj_tb_test_{name}_{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        dir
    }

    fn write(dir: &Path, scalars: &[(&str, f64, i64)]) -> PathBuf {
        let mut w = SummaryWriter::new(dir).expect("writer");
        for &(tag, v, step) in scalars {
            w.add_scalar(tag, v, step).expect("add_scalar");
        }
        w.flush().expect("flush");
        w.path().to_path_buf()
    }

    #[test]
    fn crc32c_test_vector() {
        assert_eq!(crc32c(b"123456789"), 0xE306_9283);
    }

    #[test]
    fn roundtrip_and_unique_files() {
        let dir = temp_dir("roundtrip");
        let scalars: [(&str, f64, i64); 3] = [
            ("train/loss", 0.5, 0),
            ("train/loss", 0.1, -3),
            ("test/acc", 0.9, 1 << 40),
        ];
        let path = write(&dir, &scalars);
        let expected: Vec<_> = scalars
            .iter()
            .map(|&(t, v, s)| (t.to_string(), s, v as f32))
            .collect();
        assert_eq!(read_scalars(&path).expect("read"), expected);
        let second = write(&dir, &[]);
        assert_ne!(path, second);
        assert_eq!(read_scalars(&second).expect("read").len(), 0);
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn corrupt_and_truncated_files_are_errors() {
        let dir = temp_dir("corrupt");
        let path = write(&dir, &[("train/loss", 0.5, 1), ("train/loss", 0.25, 2)]);
        let good = std::fs::read(&path).expect("read");
        let mut flipped = good.clone();
        let at = good.len() - 10; // inside the last record's data
        flipped[at] ^= 0x01;
        let check = |bytes: &[u8], what: &str| {
            std::fs::write(&path, bytes).expect("write");
            let err = read_scalars(&path).expect_err(what).to_string();
            assert!(
                err.contains(&path.display().to_string()) && err.contains("byte"),
                "{err}"
            );
        };
        check(&flipped, "flipped byte");
        check(&good[..good.len() - 3], "truncated");
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// Python's `tensorboard` reads what we write. The test command sets `$VIRTUAL_ENV` to the venv
    /// that `setup.sh` installs tensorboard into.
    #[test]
    fn tensorboard_reads_our_file() {
        let venv = std::env::var_os("VIRTUAL_ENV").expect(
            "VIRTUAL_ENV: run through ./test.sh or source ~/.cache/sj/env.sh (sj builds on its torch venv)",
        );
        let python = Path::new(&venv).join("bin/python");
        let has_tb = std::process::Command::new(&python)
            .args(["-c", "import tensorboard"])
            .output();
        assert!(
            has_tb.is_ok_and(|o| o.status.success()),
            "no tensorboard in {}: run setup.sh (it installs tensorboard into the venv)",
            python.display()
        );
        let dir = temp_dir("python");
        let scalars: [(&str, f64, i64); 4] = [
            ("train/loss", 2.5, 0),
            ("train/loss", 0.125, 1),
            ("test/acc", 0.75, 1),
            ("train/loss", 1e-3, 1 << 40),
        ];
        write(&dir, &scalars);
        let script = "import sys, json\n\
            from tensorboard.backend.event_processing.event_accumulator import EventAccumulator\n\
            ea = EventAccumulator(sys.argv[1]); ea.Reload()\n\
            print(json.dumps([(s.step, s.value) for s in ea.Scalars('train/loss')]))";
        let out = std::process::Command::new(&python)
            .args(["-c", script])
            .arg(&dir)
            .output()
            .expect("python");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let stdout = String::from_utf8_lossy(&out.stdout);
        let got: Vec<(i64, f64)> =
            serde_json::from_str(stdout.lines().next_back().unwrap_or("")).expect("json");
        let got: Vec<(i64, f32)> = got.into_iter().map(|(s, v)| (s, v as f32)).collect();
        let expected: Vec<(i64, f32)> = scalars
            .iter()
            .filter(|s| s.0 == "train/loss")
            .map(|&(_, v, s)| (s, v as f32))
            .collect();
        assert_eq!(got, expected);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
