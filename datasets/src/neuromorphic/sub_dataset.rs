//! Directory utilities: `create_same_directory_structure` and `create_sub_dataset`.
use super::io::{create_dir, sorted_entries};
use crate::error::{DatasetError, Result};
use std::path::Path;

/// `create_same_directory_structure(source_dir, target_dir)`: creates under `target_dir` every
/// folder found under `source_dir`, recursively (no files).
pub fn create_same_directory_structure(
    source_dir: impl AsRef<Path>,
    target_dir: impl AsRef<Path>,
) -> Result<()> {
    let (source_dir, target_dir) = (source_dir.as_ref(), target_dir.as_ref());
    for (name, path, is_dir) in sorted_entries(source_dir)? {
        if is_dir {
            let target = target_dir.join(name);
            create_dir(&target)?;
            create_same_directory_structure(&path, &target)?;
        }
    }
    Ok(())
}

/// Places `source` at `target` as a symbolic link to its absolute path (`link`, on Unix) or a copy.
pub(crate) fn link_or_copy(source: &Path, target: &Path, link: bool) -> Result<()> {
    #[cfg(unix)]
    {
        if link {
            let absolute =
                std::fs::canonicalize(source).map_err(|e| DatasetError::io(source, e))?;
            return std::os::unix::fs::symlink(absolute, target)
                .map_err(|e| DatasetError::io(target, e));
        }
    }
    let _ = link;
    std::fs::copy(source, target)
        .map(|_| ())
        .map_err(|e| DatasetError::io(target, e))
}

/// `create_sub_dataset(source_dir, target_dir, ratio, use_soft_link, randomly)`: mirrors the folder
/// tree of `source_dir` in `target_dir` and puts `int(ratio · n)` of the `n` files of each folder
/// (all of them when `ratio >= 1`) there, as symbolic links (to absolute paths, so a relative
/// `source_dir` still works) or copies. Files are taken in name order, or shuffled first with
/// `randomly` (seeded by `tch::manual_seed`). Returns a warning for every folder that ends up
/// empty (SpikingJelly prints them).
pub fn create_sub_dataset(
    source_dir: impl AsRef<Path>,
    target_dir: impl AsRef<Path>,
    ratio: f64,
    use_soft_link: bool,
    randomly: bool,
) -> Result<Vec<String>> {
    let (source_dir, target_dir) = (source_dir.as_ref(), target_dir.as_ref());
    if !ratio.is_finite() || ratio < 0.0 {
        return Err(DatasetError::config(
            "create_sub_dataset",
            format!("ratio must be a non-negative number, got {ratio}"),
        ));
    }
    create_dir(target_dir)?;
    let mut warnings = Vec::new();
    copy_level(
        source_dir,
        target_dir,
        ratio,
        use_soft_link,
        randomly,
        &mut warnings,
    )?;
    Ok(warnings)
}

fn copy_level(
    source: &Path,
    target: &Path,
    ratio: f64,
    link: bool,
    randomly: bool,
    warnings: &mut Vec<String>,
) -> Result<()> {
    let entries = sorted_entries(source)?;
    let mut files: Vec<_> = entries.iter().filter(|e| !e.2).collect();
    if !files.is_empty() {
        let n = if ratio >= 1.0 {
            files.len()
        } else {
            (ratio * files.len() as f64) as usize
        };
        if n == 0 {
            warnings.push(format!(
                "Warning: the samples number is 0 in [{}].",
                target.display()
            ));
        }
        if randomly {
            let order = Vec::<i64>::try_from(&tch::Tensor::f_randperm(
                files.len() as i64,
                (tch::Kind::Int64, tch::Device::Cpu),
            )?)?;
            files = order.iter().map(|&i| files[i as usize]).collect();
        }
        for (name, path, _) in files.into_iter().take(n) {
            link_or_copy(path, &target.join(name), link)?;
        }
    }
    for (name, path, _) in entries.iter().filter(|e| e.2) {
        let sub = target.join(name);
        create_dir(&sub)?;
        copy_level(path, &sub, ratio, link, randomly, warnings)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checklist_243_249_mirror_and_sub_dataset() {
        let dir = crate::neuromorphic::tests::test_dir("sub_dataset");
        let src = dir.join("src");
        for (d, n) in [("train/a", 5), ("train/b", 1), ("test/a", 2)] {
            std::fs::create_dir_all(src.join(d)).unwrap();
            for i in 0..n {
                std::fs::write(src.join(d).join(format!("{i}.npz")), [i as u8]).unwrap();
            }
        }
        create_same_directory_structure(&src, dir.join("mirror")).unwrap();
        assert!(dir.join("mirror/train/b").is_dir() && !dir.join("mirror/train/b/0.npz").exists());
        // ratio 0.5: int(2.5) = 2 of a, int(0.5) = 0 of b (a warning), int(1.0) = 1 of test/a.
        let warnings = create_sub_dataset(&src, dir.join("sub"), 0.5, true, false).unwrap();
        let names = |d: &str| -> Vec<String> {
            let mut v: Vec<String> = std::fs::read_dir(dir.join("sub").join(d))
                .unwrap()
                .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect();
            v.sort();
            v
        };
        assert_eq!(names("train/a"), ["0.npz", "1.npz"]);
        assert!(names("train/b").is_empty());
        assert_eq!(names("test/a"), ["0.npz"]);
        assert_eq!(warnings.len(), 1);
        assert!(warnings[0].contains("train/b"));
        assert_eq!(
            std::fs::read(dir.join("sub/train/a/1.npz")).unwrap(),
            [1],
            "the link reaches the source file"
        );
        assert!(std::fs::symlink_metadata(dir.join("sub/train/a/1.npz"))
            .unwrap()
            .file_type()
            .is_symlink());
        // Copies, all files, shuffled: still every file once.
        create_sub_dataset(&src, dir.join("all"), 1.0, false, true).unwrap();
        assert_eq!(
            std::fs::read_dir(dir.join("all/train/a")).unwrap().count(),
            5
        );
        assert!(create_sub_dataset(&src, dir.join("x"), f64::NAN, false, false).is_err());
    }
}
