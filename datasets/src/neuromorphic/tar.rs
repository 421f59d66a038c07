//! `.tar.gz` extraction (DVS128 Gesture's `DvsGesture.tar.gz`) with the `tar` crate: ustar, GNU
//! and PAX archives, sizes over 8 GiB (GNU base-256 and PAX `size` records), long names. Regular
//! files and directories are extracted; links, devices, FIFOs and sparse files are refused with
//! an error naming the member, and so is any member whose path leaves the destination.
use super::io::create_dir;
use crate::error::{DatasetError, Result};
use flate2::read::GzDecoder;
use std::cell::Cell;
use std::fs::File;
use std::io::{BufReader, Read, Write};
use std::path::{Component, Path};
use std::rc::Rc;
use tar::EntryType;

/// A reader that counts the bytes it has produced (the offset in the decompressed tar), shared
/// with the error messages while the `tar` crate owns the reader.
struct Counted<R> {
    inner: R,
    offset: Rc<Cell<u64>>,
}

impl<R: Read> Read for Counted<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.offset.set(self.offset.get() + n as u64);
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
    let offset = Rc::new(Cell::new(0u64));
    let mut tar = tar::Archive::new(Counted {
        inner: GzDecoder::new(BufReader::new(file)),
        offset: offset.clone(),
    });
    let err = |at: u64, msg: String| {
        DatasetError::format(
            archive,
            at,
            format!("{msg} (offset in the decompressed tar)"),
        )
    };
    // A header error is met after its 512 bytes were read.
    let bad_header = |e: std::io::Error| {
        err(
            offset.get().saturating_sub(512),
            format!("bad tar header or corrupt gzip data ({e})"),
        )
    };
    for entry in tar.entries().map_err(bad_header)? {
        let mut entry = entry.map_err(bad_header)?;
        let at = entry.raw_header_position();
        let path = entry
            .path()
            .map_err(|e| err(at, format!("unreadable member name ({e})")))?
            .into_owned();
        let name = path.display().to_string();
        let kind = entry.header().entry_type();
        if kind.is_pax_global_extensions() {
            continue;
        }
        if path
            .components()
            .any(|c| !matches!(c, Component::Normal(_) | Component::CurDir))
        {
            return Err(err(
                at,
                format!("{name}: unsafe path in archive (absolute, or leaves the destination with `..`); nothing is written outside {}", dest.display()),
            ));
        }
        let target = dest.join(&path);
        match kind {
            EntryType::Directory => create_dir(&target)?,
            EntryType::Regular | EntryType::Continuous => {
                if let Some(parent) = target.parent() {
                    create_dir(parent)?;
                }
                let size = entry.size();
                let mut out = std::io::BufWriter::new(
                    File::create(&target).map_err(|e| DatasetError::io(&target, e))?,
                );
                let got = std::io::copy(&mut entry, &mut out)
                    .map_err(|e| err(offset.get(), format!("corrupt gzip data ({e})")))?;
                if got < size {
                    return Err(err(
                        offset.get(),
                        format!("{name}: truncated member: {got} of {size} bytes"),
                    ));
                }
                out.flush().map_err(|e| DatasetError::io(&target, e))?;
            }
            EntryType::Symlink | EntryType::Link => {
                let link = entry
                    .link_name()
                    .ok()
                    .flatten()
                    .map(|l| l.display().to_string())
                    .unwrap_or_default();
                return Err(err(
                    at,
                    format!("{name}: is a link to {link:?}; links are not extracted (no SpikingJelly dataset archive has one): extract the archive yourself into the dataset's extract/ folder"),
                ));
            }
            other => {
                return Err(err(
                    at,
                    format!("{name}: member type {other:?} is not extracted (only files and directories are)"),
                ))
            }
        }
    }
    // The end of the archive: read the padding to the end of the gzip stream, so a cut or
    // corrupt stream is caught by its length and CRC-32 check (tar pads to 10 KiB records; much
    // more than that is not padding).
    let at = offset.get();
    let rest = std::io::copy(&mut tar.into_inner().take(1 << 20), &mut std::io::sink())
        .map_err(|e| err(at, format!("corrupt gzip data ({e})")))?;
    if rest == 1 << 20 {
        return Err(err(
            at,
            "more than 1 MiB of data after the end of the archive".into(),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::tar_gz;
    use flate2::write::GzEncoder;

    fn gzip(tar: &[u8]) -> Vec<u8> {
        let mut gz = GzEncoder::new(Vec::new(), flate2::Compression::default());
        gz.write_all(tar).unwrap();
        gz.finish().unwrap()
    }

    /// A raw tar: one header made by `header` with `data`, padded, then the end blocks.
    fn raw_tar(header: &tar::Header, data: &[u8]) -> Vec<u8> {
        let mut b = tar::Builder::new(Vec::new());
        b.append(header, data).unwrap();
        b.into_inner().unwrap()
    }

    fn extract_err(dir: &Path, tar: &[u8]) -> String {
        let archive = dir.join("bad.tar.gz");
        std::fs::write(&archive, gzip(tar)).unwrap();
        let out = dir.join("out-bad");
        let _ = std::fs::remove_dir_all(&out);
        extract_tar_gz(&archive, &out).unwrap_err().to_string()
    }

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
        // A header with no checksum, and one whose checksum is off by one.
        let mut tar = vec![0u8; 512];
        tar[..4].copy_from_slice(b"evil");
        let e = extract_err(&dir, &tar);
        assert!(
            e.contains("bad.tar.gz") && e.contains("at byte 0") && e.contains("cksum"),
            "{e}"
        );
        let mut tar = raw_tar(
            &{
                let mut h = tar::Header::new_ustar();
                h.set_path("a.txt").unwrap();
                h.set_size(1);
                h.set_cksum();
                h
            },
            b"x",
        );
        tar[148] = if tar[148] == b'1' { b'2' } else { b'1' };
        let e = extract_err(&dir, &tar);
        assert!(
            e.contains("at byte 0") && e.contains("checksum mismatch"),
            "{e}"
        );
        std::fs::write(&archive, b"plain text").unwrap();
        let e = extract_tar_gz(&archive, &dir.join("out3"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("gzip"), "{e}");
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

    #[test]
    fn refuses_path_escapes_and_links() {
        let dir = crate::neuromorphic::tests::test_dir("tar-escape");
        for evil in ["../evil.txt", "a/../../evil.txt", "/tmp/sj-tar-evil.txt"] {
            let mut h = tar::Header::new_ustar();
            h.as_old_mut().name[..evil.len()].copy_from_slice(evil.as_bytes());
            h.set_size(4);
            h.set_mode(0o644);
            h.set_cksum();
            let e = extract_err(&dir, &raw_tar(&h, b"evil"));
            assert!(e.contains(evil) && e.contains("unsafe path"), "{e}");
        }
        assert!(!dir.join("evil.txt").exists() && !Path::new("/tmp/sj-tar-evil.txt").exists());
        for kind in [EntryType::Symlink, EntryType::Link] {
            let mut h = tar::Header::new_gnu();
            h.set_entry_type(kind);
            h.set_path("DvsGesture/passwd").unwrap();
            h.set_link_name("/etc/passwd").unwrap();
            h.set_size(0);
            h.set_cksum();
            let e = extract_err(&dir, &raw_tar(&h, b""));
            assert!(
                e.contains("DvsGesture/passwd") && e.contains("link to \"/etc/passwd\""),
                "{e}"
            );
        }
        assert!(!dir.join("out-bad/DvsGesture/passwd").exists());
    }

    #[test]
    fn sizes_over_8_gib_are_read_not_refused() {
        // 9 GiB does not fit ustar's 11 octal digits: GNU writes it in base-256, PAX as a record.
        // The archive holds only 4 bytes of it, so extraction stops at the truncated member,
        // having read the full size from the header.
        let dir = crate::neuromorphic::tests::test_dir("tar-big");
        let big: u64 = 9 << 30;
        let mut h = tar::Header::new_gnu();
        h.set_path("big.bin").unwrap();
        h.set_size(big);
        h.set_mode(0o644);
        h.set_cksum();
        assert_eq!(h.as_gnu().unwrap().size[0], 0x80, "base-256 marker");
        let mut tar = h.as_bytes().to_vec();
        tar.extend_from_slice(&[1, 2, 3, 4]);
        let e = extract_err(&dir, &tar);
        assert!(
            e.contains(&format!("big.bin: truncated member: 4 of {big} bytes")),
            "{e}"
        );
        let mut b = tar::Builder::new(Vec::new());
        b.append_pax_extensions([("size", big.to_string().as_bytes())])
            .unwrap();
        let mut h = tar::Header::new_ustar();
        h.set_path("pax.bin").unwrap();
        h.set_size(4);
        h.set_mode(0o644);
        h.set_cksum();
        b.append(&h, [1u8, 2, 3, 4].as_slice()).unwrap();
        let e = extract_err(&dir, &b.into_inner().unwrap());
        // The member runs on over the padding and end blocks: 4 + 508 + 1024 bytes.
        assert!(
            e.contains(&format!("pax.bin: truncated member: 1536 of {big} bytes")),
            "{e}"
        );
    }
}
