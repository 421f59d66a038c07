//! DVS128 Gesture (128 x 128, 11 classes, 1176 train / 288 test samples; AEDAT 3.1 recordings
//! cut into samples by their `_labels.csv` files).
use super::aedat3::load_aedat_v3;
use super::folder::{NeuromorphicSource, Resource};
use super::io::{create_dir, read_file};
use super::parallel::par_for_each;
use super::tar::extract_tar_gz;
use crate::error::{DatasetError, Result};
use std::path::{Path, PathBuf};

/// The DVS128 Gesture dataset (SpikingJelly's `DVS128Gesture`): put `DvsGesture.tar.gz` (and the
/// other files of the IBM page) in `root/download`.
#[derive(Clone, Copy, Debug, Default)]
pub struct DVS128Gesture;

/// One `class,startTime_usec,endTime_usec` row of a labels csv: `(class, start, end)`, class 1-based.
fn read_labels_csv(csv_file: &Path) -> Result<Vec<(usize, i64, i64)>> {
    let text = String::from_utf8(read_file(csv_file)?).map_err(|e| {
        DatasetError::format(
            csv_file,
            e.utf8_error().valid_up_to() as u64,
            "not UTF-8 text",
        )
    })?;
    let mut rows = Vec::new();
    let mut offset = 0u64;
    for (i, line) in text.split_inclusive('\n').enumerate() {
        let at = offset;
        offset += line.len() as u64;
        let line = line.trim();
        if i == 0 || line.is_empty() {
            continue; // the header row
        }
        let fields: Vec<Option<i64>> = line
            .split(',')
            .map(|f| f.trim().parse::<i64>().ok())
            .collect();
        match fields.as_slice() {
            [Some(c), Some(s), Some(e)] if (1..=11).contains(c) && *s >= 0 && *e >= 0 => {
                rows.push((*c as usize, *s, *e))
            }
            _ => {
                return Err(DatasetError::format(
                    csv_file,
                    at,
                    format!("expected class (1-11),startTime_usec,endTime_usec; got {line:?}"),
                ))
            }
        }
    }
    Ok(rows)
}

impl DVS128Gesture {
    /// `split_aedat_files_to_np(fname, aedat_file, csv_file, output_dir)`: one sample per csv row,
    /// the events with `start <= t < end`, saved as `output_dir/<class-1>/<fname>_<k>.npz` where `k`
    /// counts earlier rows of the same class in this file.
    pub fn split_aedat_files_to_np(
        fname: &str,
        aedat_file: &Path,
        csv_file: &Path,
        output_dir: &Path,
    ) -> Result<()> {
        Self::split(fname, aedat_file, csv_file, output_dir)
            .map_err(|e| e.in_reader("DVS128Gesture::split_aedat_files_to_np"))
    }

    fn split(fname: &str, aedat_file: &Path, csv_file: &Path, output_dir: &Path) -> Result<()> {
        let events = load_aedat_v3(aedat_file)?;
        let mut label_file_num = [0usize; 11];
        for (class, start, end) in read_labels_csv(csv_file)? {
            let label = class - 1;
            let file = output_dir
                .join(label.to_string())
                .join(format!("{fname}_{}.npz", label_file_num[label]));
            events.time_window(start, end).save_npz(file)?;
            label_file_num[label] += 1;
        }
        Ok(())
    }
}

impl NeuromorphicSource for DVS128Gesture {
    fn name(&self) -> &'static str {
        "DVS128Gesture"
    }
    fn resource_url_md5(&self) -> Vec<Resource> {
        let url = "https://ibm.ent.box.com/s/3hiq58ww1pbbjrinh367ykfdf60xsfm8/folder/50167556794";
        vec![
            Resource {
                file_name: "DvsGesture.tar.gz",
                url,
                md5: Some("8a5c71fb11e24e5ca5b11866ca6c00a1"),
            },
            Resource {
                file_name: "gesture_mapping.csv",
                url,
                md5: Some("109b2ae64a0e1f3ef535b18ad7367fd1"),
            },
            Resource {
                file_name: "LICENSE.txt",
                url,
                md5: Some("065e10099753156f18f51941e6e44b66"),
            },
            Resource {
                file_name: "README.txt",
                url,
                md5: Some("a0663d3b1d8307c329a43d949ee32d19"),
            },
        ]
    }
    fn downloadable(&self) -> bool {
        false
    }
    fn extract_downloaded_files(&self, download_root: &Path, extract_root: &Path) -> Result<()> {
        extract_tar_gz(&download_root.join("DvsGesture.tar.gz"), extract_root)
    }
    /// Reads `extract/DvsGesture/trials_to_{train,test}.txt` and splits each listed recording into
    /// `events_np/{train,test}/<label>/` (labels 0–10).
    fn create_events_np_files(&self, extract_root: &Path, events_np_root: &Path) -> Result<()> {
        let aedat_dir = extract_root.join("DvsGesture");
        let mut jobs: Vec<(String, PathBuf)> = Vec::new();
        for split in ["train", "test"] {
            let out = events_np_root.join(split);
            for label in 0..11 {
                create_dir(&out.join(label.to_string()))?;
            }
            let list = aedat_dir.join(format!("trials_to_{split}.txt"));
            let text = String::from_utf8_lossy(&read_file(&list)?).into_owned();
            for name in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
                jobs.push((name.to_string(), out.clone()));
            }
        }
        par_for_each("events_np", &jobs, |(name, out)| {
            let stem = name.strip_suffix(".aedat").unwrap_or(name);
            Self::split_aedat_files_to_np(
                stem,
                &aedat_dir.join(name),
                &aedat_dir.join(format!("{stem}_labels.csv")),
                out,
            )
        })
    }
    fn get_h_w(&self) -> (usize, usize) {
        (128, 128)
    }
    fn train_split(&self) -> bool {
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::{aedat3_gesture_file, tar_gz, Unverified};
    use crate::neuromorphic::{DataType, NeuromorphicDatasetFolder, SplitBy};

    #[test]
    fn checklist_250_csv_rows_become_samples() {
        let root = crate::neuromorphic::tests::test_dir("dvs128_gesture");
        let download = root.join("download");
        std::fs::create_dir_all(&download).unwrap();
        // Two rows of class 8 (as user01_fluorescent has) and one of class 11.
        let aedat = aedat3_gesture_file(&[
            (10, 20, 1, 100, 0),
            (11, 21, 0, 150, 0),
            (12, 22, 1, 200, 0),
            (13, 23, 0, 260, 0),
            (127, 127, 1, 300, 0),
        ])
        .unwrap();
        let csv = b"class,startTime_usec,endTime_usec\n8,100,200\n8,200,300\n11,250,301\n";
        let tar = tar_gz(&[
            ("DvsGesture/", b""),
            (
                "DvsGesture/trials_to_train.txt",
                b"user01_fluorescent.aedat\n\n",
            ),
            ("DvsGesture/trials_to_test.txt", b"user24_led.aedat\n"),
            ("DvsGesture/user01_fluorescent.aedat", &aedat),
            ("DvsGesture/user01_fluorescent_labels.csv", csv),
            ("DvsGesture/user24_led.aedat", &aedat),
            (
                "DvsGesture/user24_led_labels.csv",
                b"class,startTime_usec,endTime_usec\n1,0,1000\n",
            ),
        ])
        .unwrap();
        std::fs::write(download.join("DvsGesture.tar.gz"), tar).unwrap();
        for r in &DVS128Gesture.resource_url_md5()[1..] {
            std::fs::write(download.join(r.file_name), b"").unwrap();
        }
        // The hand-made archive is not the published one: its MD5 sum says so before extracting.
        let e = NeuromorphicDatasetFolder::new(DVS128Gesture, &root, Some(true), DataType::Event)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("DvsGesture.tar.gz: MD5 sum")
                && e.contains("does not match the published 8a5c71fb11e24e5ca5b11866ca6c00a1"),
            "{e}"
        );
        let train = NeuromorphicDatasetFolder::new(
            Unverified(DVS128Gesture),
            &root,
            Some(true),
            DataType::Event,
        )
        .unwrap();
        // Folders '0'..'10' sort as strings: '0','1','10','2',... so folder '10' has label 2.
        assert_eq!(&train.classes()[..4], ["0", "1", "10", "2"]);
        assert!(root
            .join("events_np/train/7/user01_fluorescent_0.npz")
            .is_file());
        assert!(root
            .join("events_np/train/7/user01_fluorescent_1.npz")
            .is_file());
        let names: Vec<String> = train
            .samples()
            .iter()
            .map(|s| s.0.file_name().unwrap().to_string_lossy().into_owned())
            .collect();
        assert_eq!(
            names,
            [
                "user01_fluorescent_0.npz",
                "user01_fluorescent_0.npz",
                "user01_fluorescent_1.npz"
            ]
        );
        assert_eq!(
            train.targets(),
            [2, 8, 8],
            "class 11 -> folder '10' -> label 2; class 8 -> folder '7' -> label 8"
        );
        let first = train.get_events(1).unwrap().0;
        assert_eq!(first.t, [100, 150], "100 <= t < 200");
        assert_eq!(first.x, [10, 11]);
        assert_eq!(train.get_events(0).unwrap().0.t, [260, 300]);
        let test = NeuromorphicDatasetFolder::new(
            DVS128Gesture,
            &root,
            Some(false),
            DataType::frames_number(2, SplitBy::Time),
        )
        .unwrap();
        assert_eq!(test.len(), 1);
        assert_eq!(
            crate::Dataset::get(&test, 0).unwrap().0.size(),
            [2, 2, 128, 128]
        );
    }

    #[test]
    fn bad_csv_rows_name_the_file_and_offset() {
        let dir = crate::neuromorphic::tests::test_dir("dvs128_csv");
        let f = dir.join("user02_led_labels.csv");
        std::fs::write(&f, b"class,startTime_usec,endTime_usec\n1,5,9\n12,0,1\n").unwrap();
        let e = read_labels_csv(&f).unwrap_err().to_string();
        assert!(
            e.contains("user02_led_labels.csv") && e.contains("at byte 40"),
            "{e}"
        );
        std::fs::write(&f, b"class,startTime_usec,endTime_usec\n1,5,9\n").unwrap();
        assert_eq!(read_labels_csv(&f).unwrap(), [(1, 5, 9)]);
    }
}
