//! A minimal `.tar.gz` extractor (DVS128 Gesture's `DvsGesture.tar.gz`): ustar/GNU/PAX headers,
//! regular files and directories (GNU long names and PAX `path` records honoured, links skipped),
//! header checksums verified.
use super::io::create_dir;
use crate::error::{DatasetError, Result};
use flate2::read::GzDecoder;
use std::fs::File;
use std::io::{BufReader, Read, Write};
use std::path::{Component, Path, PathBuf};

fn octal(field: &[u8]) -> Option<u64> {
    let text = std::str::from_utf8(field).ok()?;
    let text = text.trim_matches(|c: char| c == '\0' || c == ' ');
    if text.is_empty() {
        return Some(0);
    }
    u64::from_str_radix(text, 8).ok()
}

fn text(field: &[u8]) -> String {
    let end = field.iter().position(|&b| b == 0).unwrap_or(field.len());
    String::from_utf8_lossy(&field[..end]).into_owned()
}

/// A reader that counts the bytes it has produced (the offset in the decompressed tar).
struct Counted<R> {
    inner: R,
    offset: u64,
}

impl<R: Read> Read for Counted<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.offset += n as u64;
        Ok(n)
    }
}

/// Extracts the gzip-compressed tar `archive` into `dest`, streaming file contents. Errors name
/// the archive and the byte offset in the decompressed tar stream.
pub(crate) fn extract_tar_gz(archive: &Path, dest: &Path) -> Result<()> {
    extract(archive, dest).map_err(|e| e.in_reader("extract_tar_gz"))
}

fn extract(archive: &Path, dest: &Path) -> Result<()> {
    let file = File::open(archive).map_err(|e| DatasetError::io(archive, e))?;
    let mut r = Counted {
        inner: GzDecoder::new(BufReader::new(file)),
        offset: 0,
    };
    let err = |at: u64, msg: String| {
        DatasetError::format(
            archive,
            at,
            format!("{msg} (offset in the decompressed tar)"),
        )
    };
    let gz = |at: u64, e: std::io::Error| err(at, format!("corrupt gzip data ({e})"));
    // Copies exactly `n` bytes of the stream to `out`.
    let copy =
        |r: &mut Counted<GzDecoder<BufReader<File>>>, n: u64, out: &mut dyn Write| -> Result<()> {
            let at = r.offset;
            let got = std::io::copy(&mut r.take(n), out).map_err(|e| gz(at, e))?;
            if got < n {
                return Err(err(
                    at + got,
                    format!("truncated entry: {got} of {n} bytes"),
                ));
            }
            Ok(())
        };
    let mut long_name: Option<String> = None;
    let mut header = [0u8; 512];
    loop {
        let at = r.offset;
        let mut got = 0;
        while got < 512 {
            match r.read(&mut header[got..]) {
                Ok(0) => break,
                Ok(n) => got += n,
                Err(e) => return Err(gz(at + got as u64, e)),
            }
        }
        if got == 0 || header.iter().all(|&b| b == 0) {
            // The end of the archive: read the padding to the end of the gzip stream, so a cut or
            // corrupt stream is caught by its length and CRC-32 check (tar pads to 10 KiB
            // records; much more than that is not padding).
            let at = r.offset;
            let rest = std::io::copy(&mut (&mut r).take(1 << 20), &mut std::io::sink())
                .map_err(|e| gz(at, e))?;
            if rest == 1 << 20 {
                return Err(err(
                    at,
                    "more than 1 MiB of data after the end of the archive".into(),
                ));
            }
            return Ok(());
        }
        if got < 512 {
            return Err(err(at, format!("truncated header: {got} of 512 bytes")));
        }
        let sum: u64 = header
            .iter()
            .enumerate()
            .map(|(i, &b)| {
                if (148..156).contains(&i) {
                    32
                } else {
                    b as u64
                }
            })
            .sum();
        if octal(&header[148..156]) != Some(sum) {
            return Err(err(
                at,
                "bad tar header checksum (not a tar archive?)".into(),
            ));
        }
        let size = octal(&header[124..136]).ok_or_else(|| err(at, "bad size field".into()))?;
        let padding = size.div_ceil(512) * 512 - size;
        let name = long_name.take().unwrap_or_else(|| {
            let (prefix, base) = (text(&header[345..500]), text(&header[0..100]));
            if &header[257..262] == b"ustar" && !prefix.is_empty() {
                format!("{prefix}/{base}")
            } else {
                base
            }
        });
        let kind = header[156];
        match kind {
            b'L' | b'x' => {
                if size > 1 << 20 {
                    return Err(err(at, format!("{size}-byte name record is implausible")));
                }
                let mut data = Vec::new();
                copy(&mut r, size, &mut data)?;
                let data = String::from_utf8_lossy(&data).into_owned();
                long_name = if kind == b'L' {
                    Some(text(data.as_bytes()))
                } else {
                    data.lines().find_map(|l| {
                        l.split_once(' ')
                            .and_then(|(_, kv)| kv.strip_prefix("path="))
                            .map(str::to_string)
                    })
                };
            }
            b'5' | b'0' | 0 => {
                let rel = PathBuf::from(&name);
                if rel
                    .components()
                    .any(|c| !matches!(c, Component::Normal(_) | Component::CurDir))
                {
                    return Err(err(at, format!("{name}: unsafe path in archive")));
                }
                let target = dest.join(rel);
                if kind == b'5' {
                    create_dir(&target)?;
                    copy(&mut r, size, &mut std::io::sink())?;
                } else {
                    if let Some(parent) = target.parent() {
                        create_dir(parent)?;
                    }
                    let mut f = std::io::BufWriter::new(
                        File::create(&target).map_err(|e| DatasetError::io(&target, e))?,
                    );
                    copy(&mut r, size, &mut f)?;
                    f.flush().map_err(|e| DatasetError::io(&target, e))?;
                }
            }
            _ => copy(&mut r, size, &mut std::io::sink())?,
        }
        copy(&mut r, padding, &mut std::io::sink())?;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::tar_gz;
    use flate2::write::GzEncoder;

    #[test]
    fn extracts_files_and_rejects_bad_archives() {
        let dir = crate::neuromorphic::tests::test_dir("tar");
        let archive = dir.join("a.tar.gz");
        std::fs::write(
            &archive,
            tar_gz(&[
                ("DvsGesture/", b""),
                (
                    "DvsGesture/trials_to_train.txt",
                    b"user01_fluorescent.aedat\n",
                ),
            ])
            .unwrap(),
        )
        .unwrap();
        extract_tar_gz(&archive, &dir.join("out")).unwrap();
        assert_eq!(
            std::fs::read(dir.join("out/DvsGesture/trials_to_train.txt")).unwrap(),
            b"user01_fluorescent.aedat\n"
        );
        // A corrupted header checksum.
        let mut tar = vec![0u8; 512];
        tar[..4].copy_from_slice(b"evil");
        let mut gz = GzEncoder::new(Vec::new(), flate2::Compression::default());
        gz.write_all(&tar).unwrap();
        std::fs::write(&archive, gz.finish().unwrap()).unwrap();
        let e = extract_tar_gz(&archive, &dir.join("out2"))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("a.tar.gz") && e.contains("at byte 0") && e.contains("checksum"),
            "{e}"
        );
        std::fs::write(&archive, b"plain text").unwrap();
        assert!(extract_tar_gz(&archive, &dir.join("out3"))
            .unwrap_err()
            .to_string()
            .contains("gzip"));
        // A stream cut after the end-of-archive blocks: the gzip length and CRC check catch it.
        let whole = tar_gz(&[("a.txt", b"x")]).unwrap();
        std::fs::write(&archive, &whole[..whole.len() - 4]).unwrap();
        let e = extract_tar_gz(&archive, &dir.join("out4"))
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("extract_tar_gz: ") && e.contains("corrupt gzip data"),
            "{e}"
        );
    }
}
