//! File plumbing shared by the readers and the caches: bounds-checked binary reads that name the
//! file and byte offset on malformed input, and writes that never leave a half-written file or
//! directory behind (write to a temporary name, then rename).
use crate::error::{DatasetError, Result};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// Reads a whole file, naming it on failure.
pub(crate) fn read_file(path: &Path) -> Result<Vec<u8>> {
    std::fs::read(path).map_err(|e| DatasetError::io(path, e))
}

/// The prefix of `path`'s temporary siblings, `.<name>.partial-`.
fn partial_prefix(path: &Path) -> String {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    format!(".{name}.partial-")
}

/// A temporary sibling of `path` no other writer uses: `.<name>.partial-<pid>-<n>`, unique across
/// processes (the pid) and across threads of this one (the counter). Two processes building the
/// same cache each fill their own and the first rename wins.
fn partial_path(path: &Path) -> PathBuf {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    path.with_file_name(format!(
        "{}{}-{n}",
        partial_prefix(path),
        std::process::id()
    ))
}

/// Removes temporary siblings of `path` left by processes that no longer run (killed mid-build).
/// Those of live processes, this one included, are kept: they may still be filling them. Only
/// Linux can tell (through `/proc`); elsewhere stale siblings stay until removed by hand.
fn remove_stale_partials(path: &Path) {
    let (Some(parent), prefix) = (path.parent(), partial_prefix(path)) else {
        return;
    };
    let Ok(entries) = std::fs::read_dir(parent) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(pid) = name
            .strip_prefix(&prefix)
            .and_then(|rest| rest.split('-').next())
        else {
            continue;
        };
        let dead = cfg!(target_os = "linux") && !Path::new("/proc").join(pid).exists();
        if dead {
            let p = entry.path();
            let _ = if p.is_dir() {
                std::fs::remove_dir_all(p)
            } else {
                std::fs::remove_file(p)
            };
        }
    }
}

/// The MD5 sum of the file at `path` as lower-case hex, read in 1 MiB blocks.
pub(crate) fn md5_hex(path: &Path) -> Result<String> {
    use md5::Digest;
    let mut file = std::fs::File::open(path).map_err(|e| DatasetError::io(path, e))?;
    let mut hasher = md5::Md5::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = std::io::Read::read(&mut file, &mut buf).map_err(|e| DatasetError::io(path, e))?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect())
}

/// Writes `bytes` to a temporary sibling of `path`, then renames it to `path`.
pub(crate) fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let tmp = partial_path(path);
    std::fs::write(&tmp, bytes).map_err(|e| DatasetError::io(&tmp, e))?;
    std::fs::rename(&tmp, path).map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        DatasetError::io(path, e)
    })
}

/// Builds the directory `dir` by running `fill` on an empty temporary sibling and renaming it to
/// `dir` when `fill` succeeds; on failure the temporary directory is removed, so `dir` either
/// exists complete or not at all. Writers racing to build the same `dir` (threads, or processes
/// sharing a cache) each fill their own temporary directory; the first rename wins and the others
/// discard theirs. Temporary directories of killed runs are discarded.
pub(crate) fn build_dir_atomic(dir: &Path, fill: impl FnOnce(&Path) -> Result<()>) -> Result<()> {
    remove_stale_partials(dir);
    let tmp = partial_path(dir);
    std::fs::create_dir_all(&tmp).map_err(|e| DatasetError::io(&tmp, e))?;
    match fill(&tmp) {
        Ok(()) => std::fs::rename(&tmp, dir).or_else(|e| {
            let _ = std::fs::remove_dir_all(&tmp);
            // Another writer renamed its complete copy into place first: keep that one.
            if dir.is_dir() {
                Ok(())
            } else {
                Err(DatasetError::io(dir, e))
            }
        }),
        Err(e) => {
            let _ = std::fs::remove_dir_all(&tmp);
            Err(e)
        }
    }
}

/// `create_dir_all` naming the directory on failure.
pub(crate) fn create_dir(dir: &Path) -> Result<()> {
    std::fs::create_dir_all(dir).map_err(|e| DatasetError::io(dir, e))
}

/// The entries of `dir` sorted by name, as `(name, path, is_dir)` (symbolic links are followed).
pub(crate) fn sorted_entries(dir: &Path) -> Result<Vec<(String, PathBuf, bool)>> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(|e| DatasetError::io(dir, e))? {
        let entry = entry.map_err(|e| DatasetError::io(dir, e))?;
        let path = entry.path();
        out.push((
            entry.file_name().to_string_lossy().into_owned(),
            path.clone(),
            path.is_dir(),
        ));
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(out)
}

/// A cursor over a file's bytes whose reads fail with [`DatasetError::Format`] naming the file and
/// the byte offset instead of panicking.
pub(crate) struct Bytes<'a> {
    file: &'a Path,
    data: &'a [u8],
    pos: usize,
    base: usize,
}

impl<'a> Bytes<'a> {
    /// A cursor at offset 0 of `data`, the contents of `file`.
    pub(crate) fn new(file: &'a Path, data: &'a [u8]) -> Self {
        Bytes {
            file,
            data,
            pos: 0,
            base: 0,
        }
    }

    /// A cursor over `data`, which starts at byte `base` of `file` (errors report file offsets).
    pub(crate) fn with_base(file: &'a Path, data: &'a [u8], base: usize) -> Self {
        Bytes {
            file,
            data,
            pos: 0,
            base,
        }
    }

    /// The current offset.
    pub(crate) fn pos(&self) -> usize {
        self.pos
    }

    /// Moves to `pos` (at most the end).
    pub(crate) fn seek(&mut self, pos: usize) -> Result<()> {
        if pos > self.data.len() {
            return Err(self.error_at(
                self.data.len(),
                format!("offset {pos} is past the end of the file"),
            ));
        }
        self.pos = pos;
        Ok(())
    }

    /// Bytes left after the cursor.
    pub(crate) fn remaining(&self) -> usize {
        self.data.len() - self.pos
    }

    /// A format error at `offset` of this file.
    pub(crate) fn error_at(&self, offset: usize, message: impl Into<String>) -> DatasetError {
        DatasetError::format(self.file, (self.base + offset) as u64, message)
    }

    /// The next `n` bytes (`what` names them in the error when the file ends first).
    pub(crate) fn take(&mut self, n: usize, what: &str) -> Result<&'a [u8]> {
        if n > self.remaining() {
            return Err(self.error_at(
                self.pos,
                format!(
                    "truncated {what}: needs {n} bytes, {} left",
                    self.remaining()
                ),
            ));
        }
        let out = &self.data[self.pos..self.pos + n];
        self.pos += n;
        Ok(out)
    }

    /// The next byte.
    pub(crate) fn u8(&mut self, what: &str) -> Result<u8> {
        Ok(self.take(1, what)?[0])
    }

    /// The next little-endian `u16`.
    pub(crate) fn u16_le(&mut self, what: &str) -> Result<u16> {
        let b = self.take(2, what)?;
        Ok(u16::from_le_bytes([b[0], b[1]]))
    }

    /// The next little-endian `u32`.
    pub(crate) fn u32_le(&mut self, what: &str) -> Result<u32> {
        let b = self.take(4, what)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }

    /// The next little-endian `u64`.
    pub(crate) fn u64_le(&mut self, what: &str) -> Result<u64> {
        let b = self.take(8, what)?;
        Ok(u64::from_le_bytes([
            b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7],
        ]))
    }

    /// The next line, up to and including `\n` (or the end of the file); empty at the end.
    pub(crate) fn line(&mut self) -> &'a [u8] {
        let rest = &self.data[self.pos..];
        let n = rest
            .iter()
            .position(|&b| b == b'\n')
            .map_or(rest.len(), |i| i + 1);
        self.pos += n;
        &rest[..n]
    }

    /// The byte at the cursor without moving (`None` at the end).
    pub(crate) fn peek(&self) -> Option<u8> {
        self.data.get(self.pos).copied()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_past_the_end_name_the_file_and_offset() {
        let data = [1u8, 2, 3];
        let mut b = Bytes::new(Path::new("f.bin"), &data);
        assert_eq!(b.u16_le("x").unwrap(), 0x0201);
        let e = b.u32_le("header").unwrap_err().to_string();
        assert!(
            e.contains("f.bin") && e.contains("byte 2") && e.contains("truncated header"),
            "{e}"
        );
    }

    #[test]
    fn failed_directory_builds_leave_nothing() {
        let root = std::env::temp_dir().join(format!("sj_io_atomic_{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        create_dir(&root).unwrap();
        let dir = root.join("cache");
        let err = build_dir_atomic(&dir, |tmp| {
            std::fs::write(tmp.join("half"), b"x").unwrap();
            Err(DatasetError::config("fill", "stopped"))
        });
        assert!(err.is_err());
        assert_eq!(
            std::fs::read_dir(&root).unwrap().count(),
            0,
            "no cache and no temporary left"
        );
        build_dir_atomic(&dir, |tmp| write_atomic(&tmp.join("a"), b"ok")).unwrap();
        assert_eq!(std::fs::read(dir.join("a")).unwrap(), b"ok");
        assert_eq!(std::fs::read_dir(&root).unwrap().count(), 1);
        std::fs::remove_dir_all(&root).unwrap();
    }
}
