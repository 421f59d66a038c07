//! N-MNIST (34 x 34, 10 classes, official train/test split; ATIS `.bin` files).
use super::atis_bin::load_atis_bin;
use super::folder::{convert_class_folders, extract_each_zip, NeuromorphicSource, Resource};
use super::io::create_dir;
use crate::error::Result;
use std::path::Path;

/// The N-MNIST dataset (SpikingJelly's `NMNIST`): put `Train.zip` and `Test.zip` in
/// `root/download` (or their extracted `Train/` and `Test/` folders in `root/extract`).
#[allow(clippy::upper_case_acronyms)]
#[derive(Clone, Copy, Debug, Default)]
pub struct NMNIST;

impl NeuromorphicSource for NMNIST {
    fn name(&self) -> &'static str {
        "NMNIST"
    }
    fn resource_url_md5(&self) -> Vec<Resource> {
        let url = "https://www.garrickorchard.com/datasets/n-mnist";
        vec![
            Resource {
                file_name: "Train.zip",
                url,
                md5: Some("20959b8e626244a1b502305a9e6e2031"),
            },
            Resource {
                file_name: "Test.zip",
                url,
                md5: Some("69ca8762b2fe404d9b9bad1103e97832"),
            },
        ]
    }
    fn downloadable(&self) -> bool {
        false
    }
    fn extract_downloaded_files(&self, download_root: &Path, extract_root: &Path) -> Result<()> {
        extract_each_zip(download_root, extract_root)
    }
    /// `extract/{Train,Test}/<digit>/*.bin` to `events_np/{train,test}/<digit>/*.npz`.
    fn create_events_np_files(&self, extract_root: &Path, events_np_root: &Path) -> Result<()> {
        for split in ["Train", "Test"] {
            let target = events_np_root.join(split.to_lowercase());
            create_dir(&target)?;
            convert_class_folders(&extract_root.join(split), &target, |f| load_atis_bin(f))?;
        }
        Ok(())
    }
    fn get_h_w(&self) -> (usize, usize) {
        (34, 34)
    }
    fn train_split(&self) -> bool {
        true
    }
}
