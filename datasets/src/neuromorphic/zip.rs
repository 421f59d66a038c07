//! A minimal ZIP reader and writer for numpy's `.npz` files and the datasets' downloaded `.zip`
//! archives: stored and deflate entries, ZIP64 sizes (numpy writes every entry with ZIP64 local
//! headers), CRC-32 checked. Encrypted entries and other compression methods are reported as errors.
use crate::error::{DatasetError, Result};
use flate2::read::DeflateDecoder;
use flate2::write::DeflateEncoder;
use flate2::{Compression, Crc};
use std::fs::File;
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Component, Path};

const LOCAL: u32 = 0x0403_4b50;
const CENTRAL: u32 = 0x0201_4b50;
const END: u32 = 0x0605_4b50;
const END64: u32 = 0x0606_4b50;
const END64_LOCATOR: u32 = 0x0706_4b50;

/// One file of an archive, from the central directory.
#[derive(Clone, Debug)]
pub(crate) struct ZipEntry {
    pub(crate) name: String,
    method: u16,
    crc: u32,
    compressed: u64,
    size: u64,
    header_offset: u64,
}

fn le16(b: &[u8], i: usize) -> u16 {
    u16::from_le_bytes([b[i], b[i + 1]])
}

fn le32(b: &[u8], i: usize) -> u32 {
    u32::from_le_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]])
}

fn le64(b: &[u8], i: usize) -> u64 {
    (le32(b, i) as u64) | ((le32(b, i + 4) as u64) << 32)
}

/// Reads `n` bytes at `offset`, or a format error naming `what`.
fn read_at<R: Read + Seek>(
    r: &mut R,
    file: &Path,
    offset: u64,
    n: usize,
    what: &str,
) -> Result<Vec<u8>> {
    let mut buf = vec![0u8; n];
    r.seek(SeekFrom::Start(offset))
        .map_err(|e| DatasetError::io(file, e))?;
    r.read_exact(&mut buf).map_err(|_| {
        DatasetError::format(file, offset, format!("truncated {what}: needs {n} bytes"))
    })?;
    Ok(buf)
}

/// The entries listed in the central directory of the archive `r` (the contents of `file`).
pub(crate) fn entries<R: Read + Seek>(r: &mut R, file: &Path) -> Result<Vec<ZipEntry>> {
    let len = r
        .seek(SeekFrom::End(0))
        .map_err(|e| DatasetError::io(file, e))?;
    let tail_len = len.min(22 + 65535);
    let tail = read_at(r, file, len - tail_len, tail_len as usize, "end of archive")?;
    let end = (0..tail.len().saturating_sub(21))
        .rev()
        .find(|&i| le32(&tail, i) == END)
        .ok_or_else(|| {
            DatasetError::format(
                file,
                len,
                "not a zip archive: no end-of-central-directory record",
            )
        })?;
    let end_offset = len - tail_len + end as u64;
    let mut count = le16(&tail, end + 10) as u64;
    let mut cd_size = le32(&tail, end + 12) as u64;
    let mut cd_offset = le32(&tail, end + 16) as u64;
    if count == 0xFFFF || cd_size == 0xFFFF_FFFF || cd_offset == 0xFFFF_FFFF {
        let loc_offset = end_offset
            .checked_sub(20)
            .ok_or_else(|| DatasetError::format(file, end_offset, "ZIP64 locator missing"))?;
        let loc = read_at(r, file, loc_offset, 20, "ZIP64 locator")?;
        if le32(&loc, 0) != END64_LOCATOR {
            return Err(DatasetError::format(
                file,
                loc_offset,
                "ZIP64 locator missing",
            ));
        }
        let rec_offset = le64(&loc, 8);
        let rec = read_at(r, file, rec_offset, 56, "ZIP64 end record")?;
        if le32(&rec, 0) != END64 {
            return Err(DatasetError::format(
                file,
                rec_offset,
                "bad ZIP64 end record signature",
            ));
        }
        count = le64(&rec, 32);
        cd_size = le64(&rec, 40);
        cd_offset = le64(&rec, 48);
    }
    if cd_offset.checked_add(cd_size).is_none_or(|e| e > len) {
        return Err(DatasetError::format(
            file,
            end_offset,
            "central directory lies outside the file",
        ));
    }
    let cd = read_at(r, file, cd_offset, cd_size as usize, "central directory")?;
    let mut out = Vec::new();
    let mut i = 0usize;
    for _ in 0..count {
        let at = cd_offset + i as u64;
        if i + 46 > cd.len() || le32(&cd, i) != CENTRAL {
            return Err(DatasetError::format(
                file,
                at,
                "bad central directory entry",
            ));
        }
        let flags = le16(&cd, i + 8);
        let (n, m, k) = (
            le16(&cd, i + 28) as usize,
            le16(&cd, i + 30) as usize,
            le16(&cd, i + 32) as usize,
        );
        if i + 46 + n + m + k > cd.len() {
            return Err(DatasetError::format(
                file,
                at,
                "truncated central directory entry",
            ));
        }
        let name = String::from_utf8_lossy(&cd[i + 46..i + 46 + n]).into_owned();
        if flags & 1 != 0 {
            return Err(DatasetError::format(
                file,
                at,
                format!("{name}: encrypted entries are not supported"),
            ));
        }
        let mut e = ZipEntry {
            name,
            method: le16(&cd, i + 10),
            crc: le32(&cd, i + 16),
            compressed: le32(&cd, i + 20) as u64,
            size: le32(&cd, i + 24) as u64,
            header_offset: le32(&cd, i + 42) as u64,
        };
        // ZIP64 extra field (id 1): the 0xFFFFFFFF fields, in the order size, compressed, offset.
        let extra = &cd[i + 46 + n..i + 46 + n + m];
        let mut j = 0;
        while j + 4 <= extra.len() {
            let (id, sz) = (le16(extra, j), le16(extra, j + 2) as usize);
            let body = &extra[j + 4..(j + 4 + sz).min(extra.len())];
            if id == 1 {
                let mut vals = body.chunks_exact(8).map(|c| le64(c, 0));
                for field in [&mut e.size, &mut e.compressed, &mut e.header_offset] {
                    if *field == 0xFFFF_FFFF {
                        *field = vals.next().ok_or_else(|| {
                            DatasetError::format(file, at, "truncated ZIP64 extra field")
                        })?;
                    }
                }
            }
            j += 4 + sz;
        }
        out.push(e);
        i += 46 + n + m + k;
    }
    Ok(out)
}

/// Writes the contents of `entry` to `out`, inflating and checking its size and CRC-32.
pub(crate) fn read_entry<R: Read + Seek, W: Write>(
    r: &mut R,
    file: &Path,
    entry: &ZipEntry,
    out: &mut W,
) -> Result<()> {
    let at = entry.header_offset;
    let head = read_at(r, file, at, 30, "local file header")?;
    if le32(&head, 0) != LOCAL {
        return Err(DatasetError::format(
            file,
            at,
            format!("{}: bad local header signature", entry.name),
        ));
    }
    let data_at = at + 30 + le16(&head, 26) as u64 + le16(&head, 28) as u64;
    r.seek(SeekFrom::Start(data_at))
        .map_err(|e| DatasetError::io(file, e))?;
    let raw = (&mut *r).take(entry.compressed);
    let mut reader: Box<dyn Read + '_> = match entry.method {
        0 => Box::new(raw),
        8 => Box::new(DeflateDecoder::new(raw)),
        m => {
            return Err(DatasetError::format(
                file,
                at,
                format!(
                    "{}: compression method {m} is not supported (only stored and deflate)",
                    entry.name
                ),
            ))
        }
    };
    let bad = |msg: &str| DatasetError::format(file, data_at, format!("{}: {msg}", entry.name));
    let mut crc = Crc::new();
    let mut buf = vec![0u8; 1 << 16];
    let mut written = 0u64;
    loop {
        let n = reader
            .read(&mut buf)
            .map_err(|e| bad(&format!("corrupt data ({e})")))?;
        if n == 0 {
            break;
        }
        written += n as u64;
        if written > entry.size {
            return Err(bad("more data than the recorded size"));
        }
        crc.update(&buf[..n]);
        out.write_all(&buf[..n])
            .map_err(|e| DatasetError::io(file, e))?;
    }
    if written != entry.size {
        return Err(bad(&format!(
            "truncated data: {written} of {} bytes",
            entry.size
        )));
    }
    if crc.sum() != entry.crc {
        return Err(bad("CRC-32 mismatch"));
    }
    Ok(())
}

/// Every file of the in-memory archive `data` (the contents of `file`) as `(name, bytes)`.
pub(crate) fn read_all(file: &Path, data: &[u8]) -> Result<Vec<(String, Vec<u8>)>> {
    let mut cursor = std::io::Cursor::new(data);
    let list = entries(&mut cursor, file)?;
    let mut out = Vec::with_capacity(list.len());
    for e in list {
        // The recorded size is untrusted: reserve no more than the entry's share of the archive
        // can inflate to (deflate expands at most 1032-fold); `read_entry` checks the real size.
        let most = (data.len() as u64)
            .min(e.compressed)
            .saturating_mul(if e.method == 0 { 1 } else { 1032 });
        let mut bytes = Vec::with_capacity(e.size.min(most) as usize);
        read_entry(&mut cursor, file, &e, &mut bytes)?;
        out.push((e.name, bytes));
    }
    Ok(out)
}

/// A zip archive of `files` (`(name, bytes)`), deflated when `compress`, else stored.
pub fn write_archive(files: &[(String, Vec<u8>)], compress: bool) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    let mut central = Vec::new();
    for (name, data) in files {
        let mut crc = Crc::new();
        crc.update(data);
        let body = if compress {
            let mut enc = DeflateEncoder::new(Vec::new(), Compression::default());
            enc.write_all(data)
                .and_then(|_| enc.finish())
                .map_err(|e| DatasetError::config("write_npz", e.to_string()))?
        } else {
            data.clone()
        };
        if body.len() > u32::MAX as usize
            || data.len() > u32::MAX as usize
            || out.len() > u32::MAX as usize
        {
            return Err(DatasetError::config(
                "write_npz",
                format!("{name}: entries over 4 GiB are not supported"),
            ));
        }
        let method: u16 = if compress { 8 } else { 0 };
        let offset = out.len() as u32;
        let mut fixed = Vec::with_capacity(26);
        fixed.extend_from_slice(&20u16.to_le_bytes()); // version needed
        fixed.extend_from_slice(&0u16.to_le_bytes()); // flags
        fixed.extend_from_slice(&method.to_le_bytes());
        fixed.extend_from_slice(&0u16.to_le_bytes()); // time 00:00
        fixed.extend_from_slice(&0x21u16.to_le_bytes()); // date 1980-01-01
        fixed.extend_from_slice(&crc.sum().to_le_bytes());
        fixed.extend_from_slice(&(body.len() as u32).to_le_bytes());
        fixed.extend_from_slice(&(data.len() as u32).to_le_bytes());
        fixed.extend_from_slice(&(name.len() as u16).to_le_bytes());
        fixed.extend_from_slice(&0u16.to_le_bytes()); // extra length
        out.extend_from_slice(&LOCAL.to_le_bytes());
        out.extend_from_slice(&fixed);
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(&body);
        central.extend_from_slice(&CENTRAL.to_le_bytes());
        central.extend_from_slice(&20u16.to_le_bytes()); // version made by
        central.extend_from_slice(&fixed);
        central.extend_from_slice(&[0u8; 6]); // comment length, disk, internal attributes
        central.extend_from_slice(&(0o100644u32 << 16).to_le_bytes()); // external attributes
        central.extend_from_slice(&offset.to_le_bytes());
        central.extend_from_slice(name.as_bytes());
    }
    let (cd_offset, cd_size, n) = (out.len() as u32, central.len() as u32, files.len() as u16);
    out.extend_from_slice(&central);
    out.extend_from_slice(&END.to_le_bytes());
    out.extend_from_slice(&[0u8; 4]); // disk numbers
    out.extend_from_slice(&n.to_le_bytes());
    out.extend_from_slice(&n.to_le_bytes());
    out.extend_from_slice(&cd_size.to_le_bytes());
    out.extend_from_slice(&cd_offset.to_le_bytes());
    out.extend_from_slice(&0u16.to_le_bytes()); // comment length
    Ok(out)
}

/// Extracts the archive `zip_file` into `dest` (directories as listed, files streamed); names that
/// would leave `dest` (absolute or with `..`) are rejected.
pub(crate) fn extract_zip(zip_file: &Path, dest: &Path) -> Result<()> {
    extract(zip_file, dest).map_err(|e| e.in_reader("extract_zip"))
}

fn extract(zip_file: &Path, dest: &Path) -> Result<()> {
    let mut f =
        std::io::BufReader::new(File::open(zip_file).map_err(|e| DatasetError::io(zip_file, e))?);
    for e in entries(&mut f, zip_file)? {
        let rel = Path::new(&e.name);
        if rel.components().any(|c| !matches!(c, Component::Normal(_))) {
            return Err(DatasetError::format(
                zip_file,
                e.header_offset,
                format!("{}: unsafe path in archive", e.name),
            ));
        }
        let target = dest.join(rel);
        if e.name.ends_with('/') {
            super::io::create_dir(&target)?;
            continue;
        }
        if let Some(parent) = target.parent() {
            super::io::create_dir(parent)?;
        }
        let mut out = std::io::BufWriter::new(
            File::create(&target).map_err(|err| DatasetError::io(&target, err))?,
        );
        read_entry(&mut f, zip_file, &e, &mut out)?;
        out.flush().map_err(|err| DatasetError::io(&target, err))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_and_deflated_archives_read_back_and_corruption_is_caught() {
        let files = vec![
            ("a.npy".to_string(), b"hello hello hello".to_vec()),
            ("b/c.txt".to_string(), vec![7u8; 1000]),
        ];
        for compress in [false, true] {
            let z = write_archive(&files, compress).unwrap();
            assert_eq!(&z[0..4], b"PK\x03\x04", "local file header signature");
            assert_eq!(
                le16(&z, 8),
                if compress { 8 } else { 0 },
                "method field at byte 8"
            );
            // End record: 22 bytes, 2 entries, central directory of 46 + name bytes per entry.
            let end = z.len() - 22;
            assert_eq!(le32(&z, end), END);
            assert_eq!((le16(&z, end + 8), le16(&z, end + 10)), (2, 2));
            assert_eq!(le32(&z, end + 12), 46 * 2 + 5 + 7);
            let cd = le32(&z, end + 16) as usize;
            assert_eq!((le32(&z, cd), le32(&z, cd + 46 + 5)), (CENTRAL, CENTRAL));
            assert_eq!(read_all(Path::new("t.zip"), &z).unwrap(), files);
        }
        let mut z = write_archive(&files, false).unwrap();
        z[30 + 5] ^= 1; // first byte of a.npy's data (30-byte header + 5-byte name)
        let e = read_all(Path::new("t.zip"), &z).unwrap_err().to_string();
        assert!(
            e.contains("t.zip") && e.contains("at byte 35") && e.contains("CRC"),
            "{e}"
        );
        let e = read_all(
            Path::new("t.zip"),
            b"not a zip at all, just some text bytes",
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("no end-of-central-directory"), "{e}");
    }
}
