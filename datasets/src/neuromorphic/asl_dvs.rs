//! ASL-DVS (180 x 240, 24 letters, no official split): one MAT v5 file per sample with the
//! variables `ts`, `x`, `y`, `pol`, flipped on load (`x = 239 − x`, `y = 179 − y`).
use super::events::{narrow, Events};
use super::folder::{convert_class_folders, extract_nested_zips, NeuromorphicSource, Resource};
use super::mat5::load_mat5;
use super::npy::NpyArray;
use crate::error::{DatasetError, Result};
use std::path::Path;

/// The ASL-DVS dataset (SpikingJelly's `ASLDVS`): put `ICCV2019_DVS_dataset.zip` (a zip of one
/// zip per letter) in `root/download`.
#[allow(clippy::upper_case_acronyms)]
#[derive(Clone, Copy, Debug, Default)]
pub struct ASLDVS;

impl ASLDVS {
    /// `load_origin_data(file_name)`: `t = ts`, `x = 239 − x`, `y = 179 − y`, `p = pol`, each
    /// squeezed to a vector. Coordinates beyond the sensor (which would flip below 0) are an error.
    pub fn load_origin_data(file: impl AsRef<Path>) -> Result<Events> {
        let file = file.as_ref();
        Self::read(file).map_err(|e| e.in_reader("ASLDVS::load_origin_data"))
    }

    fn read(file: &Path) -> Result<Events> {
        let mut vars = load_mat5(file)?;
        let what = file.display().to_string();
        let mut column = |key: &str| -> Result<Vec<i64>> {
            let i = vars.iter().position(|(k, _)| k == key).ok_or_else(|| {
                DatasetError::format(
                    file,
                    0,
                    format!("no numeric variable {key:?} (ASL-DVS files hold ts, x, y, pol)"),
                )
            })?;
            let a: NpyArray = vars.swap_remove(i).1;
            if a.shape.iter().filter(|&&d| d != 1).count() > 1 {
                return Err(DatasetError::format(
                    file,
                    0,
                    format!("{key} has shape {:?}; a vector is expected", a.shape),
                ));
            }
            a.to_i64(&format!("{what}: {key}"))
        };
        let (t, x, y, p) = (column("ts")?, column("x")?, column("y")?, column("pol")?);
        let flip = |v: Vec<i64>, max: i64| -> Vec<i64> { v.into_iter().map(|a| max - a).collect() };
        Events::new(
            t,
            narrow(&flip(x, 239), &what, "239 - x")?,
            narrow(&flip(y, 179), &what, "179 - y")?,
            narrow(&p, &what, "pol")?,
        )
    }
}

impl NeuromorphicSource for ASLDVS {
    fn name(&self) -> &'static str {
        "ASLDVS"
    }
    fn resource_url_md5(&self) -> Vec<Resource> {
        vec![Resource {
            file_name: "ICCV2019_DVS_dataset.zip",
            url: "https://www.dropbox.com/sh/ibq0jsicatn7l6r/AACNrNELV56rs1YInMWUs9CAa?dl=0",
            md5: None,
        }]
    }
    fn downloadable(&self) -> bool {
        false
    }
    fn extract_downloaded_files(&self, download_root: &Path, extract_root: &Path) -> Result<()> {
        extract_nested_zips(
            &download_root.join("ICCV2019_DVS_dataset.zip"),
            extract_root,
        )
    }
    fn create_events_np_files(&self, extract_root: &Path, events_np_root: &Path) -> Result<()> {
        convert_class_folders(extract_root, events_np_root, |f| {
            ASLDVS::load_origin_data(f)
        })
    }
    fn get_h_w(&self) -> (usize, usize) {
        (180, 240)
    }
    fn train_split(&self) -> bool {
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::{mat5_compressed, mat5_header, mat5_matrix};
    use crate::neuromorphic::zip::write_archive;
    use crate::neuromorphic::{DataType, NeuromorphicDatasetFolder};

    /// A sample as in ASL-DVS: int32 column vectors, compressed (MAT v7 style).
    fn sample(ts: &[i32], x: &[i32], y: &[i32], pol: &[i32]) -> Vec<u8> {
        let mut m = mat5_header(false);
        for (name, v) in [("ts", ts), ("x", x), ("y", y), ("pol", pol)] {
            let bytes: Vec<u8> = v.iter().flat_map(|a| a.to_le_bytes()).collect();
            m.extend(
                mat5_compressed(
                    &mat5_matrix(name, 12, &[v.len() as i32, 1], 5, &bytes, false).unwrap(),
                )
                .unwrap(),
            );
        }
        m
    }

    #[test]
    fn checklist_254_mat_files_flipped_into_events() {
        let root = crate::neuromorphic::tests::test_dir("asl_dvs");
        std::fs::create_dir_all(root.join("download")).unwrap();
        let a = sample(&[10, 20], &[0, 239], &[0, 179], &[1, 0]);
        let inner_a = write_archive(&[("a/a_0001.mat".into(), a)], true).unwrap();
        let inner_b = write_archive(
            &[("b/b_0001.mat".into(), sample(&[5], &[100], &[50], &[1]))],
            true,
        )
        .unwrap();
        let outer = write_archive(
            &[
                ("ICCV2019_DVS_dataset/a.zip".into(), inner_a),
                ("ICCV2019_DVS_dataset/b.zip".into(), inner_b),
            ],
            false,
        )
        .unwrap();
        std::fs::write(root.join("download/ICCV2019_DVS_dataset.zip"), outer).unwrap();
        let ds = NeuromorphicDatasetFolder::new(ASLDVS, &root, None, DataType::Event).unwrap();
        assert_eq!(ds.classes(), ["a", "b"]);
        let e = ds.get_events(0).unwrap().0;
        assert_eq!(
            e,
            Events::new(vec![10, 20], vec![239, 0], vec![179, 0], vec![1, 0]).unwrap()
        );
        assert!(
            !root.join("extract/.outer").exists(),
            "the outer zip's scratch folder is removed"
        );
        // x = 240 cannot be flipped into the 240-pixel-wide frame.
        let f = root.join("bad.mat");
        std::fs::write(&f, sample(&[1], &[240], &[0], &[0])).unwrap();
        assert!(ASLDVS::load_origin_data(&f)
            .unwrap_err()
            .to_string()
            .contains("239 - x[0] = -1"));
    }
}
