//! N-Caltech101 (180 x 240, 101 folders, no official split; ATIS `.bin` files).
use super::atis_bin::load_atis_bin;
use super::folder::{convert_class_folders, NeuromorphicSource, Resource};
use super::zip::extract_zip;
use crate::error::Result;
use std::path::Path;

/// The N-Caltech101 dataset (SpikingJelly's `NCaltech101`): `Caltech101.zip` and its companions
/// in `root/download`, extracted to `extract/Caltech101/<class>/*.bin`.
#[derive(Clone, Copy, Debug, Default)]
pub struct NCaltech101;

impl NeuromorphicSource for NCaltech101 {
    fn name(&self) -> &'static str {
        "NCaltech101"
    }
    fn resource_url_md5(&self) -> Vec<Resource> {
        let url = "https://www.garrickorchard.com/datasets/n-caltech101";
        vec![
            Resource {
                file_name: "Caltech101.zip",
                url,
                md5: Some("66201824eabb0239c7ab992480b50ba3"),
            },
            Resource {
                file_name: "Caltech101_annotations.zip",
                url,
                md5: Some("25e64cea645291e368db1e70f214988e"),
            },
            Resource {
                file_name: "ReadMe(Caltech101)-SINAPSE-G.txt",
                url,
                md5: Some("d464b81684e0af3b5773555eb1d5b95c"),
            },
            Resource {
                file_name: "ReadMe(Caltech101).txt",
                url,
                md5: Some("33632a7a5c46074c70509f960d0dd5e5"),
            },
        ]
    }
    fn downloadable(&self) -> bool {
        false
    }
    fn extract_downloaded_files(&self, download_root: &Path, extract_root: &Path) -> Result<()> {
        extract_zip(&download_root.join("Caltech101.zip"), extract_root)
    }
    fn create_events_np_files(&self, extract_root: &Path, events_np_root: &Path) -> Result<()> {
        convert_class_folders(&extract_root.join("Caltech101"), events_np_root, |f| {
            load_atis_bin(f)
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
    use crate::fixtures::Unverified;
    use crate::neuromorphic::{DataType, NeuromorphicDatasetFolder};

    #[test]
    fn checklist_253_from_a_downloaded_zip_to_events() {
        let root = crate::neuromorphic::tests::test_dir("ncaltech101");
        let download = root.join("download");
        std::fs::create_dir_all(&download).unwrap();
        // Caltech101.zip with two classes; x = 239 and y = 179 are the largest coordinates of 180 x 240.
        let airplane = vec![239u8, 179, 0x80, 0x00, 0x10, 3, 4, 0x00, 0x00, 0x20];
        let files = vec![
            ("Caltech101/".to_string(), vec![]),
            ("Caltech101/airplanes/image_0001.bin".to_string(), airplane),
            (
                "Caltech101/BACKGROUND_Google/image_0001.bin".to_string(),
                vec![1, 2, 0, 0, 1],
            ),
        ];
        std::fs::write(
            download.join("Caltech101.zip"),
            crate::neuromorphic::zip::write_archive(&files, true).unwrap(),
        )
        .unwrap();
        let e = NeuromorphicDatasetFolder::new(NCaltech101, &root, None, DataType::Event)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("Caltech101_annotations.zip") && !e.contains("Caltech101.zip from"),
            "only the missing files are listed: {e}"
        );
        for r in NCaltech101.resource_url_md5().iter().skip(1) {
            std::fs::write(download.join(r.file_name), b"").unwrap();
        }
        // Hand-made archives have other MD5 sums than the published ones.
        let ds =
            NeuromorphicDatasetFolder::new(Unverified(NCaltech101), &root, None, DataType::Event)
                .unwrap();
        // "BACKGROUND_Google" < "airplanes" as strings (uppercase first).
        assert_eq!(ds.classes(), ["BACKGROUND_Google", "airplanes"]);
        let ev = ds.get_events(1).unwrap().0;
        assert_eq!(
            (ev.x.clone(), ev.y.clone(), ev.p.clone(), ev.t.clone()),
            (vec![239, 3], vec![179, 4], vec![1, 0], vec![16, 32])
        );
        assert!(root
            .join("extract/Caltech101/airplanes/image_0001.bin")
            .is_file());
        assert!(
            NeuromorphicDatasetFolder::new(NCaltech101, &root, Some(true), DataType::Event)
                .is_err(),
            "no official split"
        );
    }
}
