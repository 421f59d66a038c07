//! Neuromorphic (event-camera and spiking-audio) datasets with SpikingJelly's on-disk layout
//! (`download/`, `extract/`, `events_np/`, `frames_number_{F}_split_by_{s}/`, `duration_{D}/`),
//! their raw-format readers, event-to-frame integration, and batching helpers.
//!
//! | Dataset | Type | H x W | Raw format (reader) |
//! |---|---|---|---|
//! | N-MNIST | [`NMNIST`] | 34 x 34 | ATIS `.bin` ([`load_atis_bin`]) |
//! | N-Caltech101 | [`NCaltech101`] | 180 x 240 | ATIS `.bin` ([`load_atis_bin`]) |
//! | DVS128 Gesture | [`DVS128Gesture`] | 128 x 128 | AEDAT 3.1 ([`load_aedat_v3`]) |
//! | CIFAR10-DVS | [`CIFAR10DVS`] | 128 x 128 | AEDAT 2 ([`cifar10_dvs::load_events`]) |
//! | ASL-DVS | [`ASLDVS`] | 180 x 240 | MAT v5 ([`load_mat5`]) |
//! | ES-ImageNet | [`ESImageNet`] | 256 x 256 | `.npz` pos/neg ([`es_imagenet::load_events`]) |
//! | NAV Gesture | [`NAVGesture`] | 240 x 304 | ATIS `_td.dat` ([`read_atis_tddat`]) |
//! | SHD | [`SpikingHeidelbergDigits`] | 700 channels | HDF5 |
//!
//! Every reader returns an error naming the file and the byte offset on malformed input; none
//! panics. sj does not download: a missing dataset is an error saying which files to put where.
pub mod aedat3;
pub mod asl_dvs;
pub mod atis_bin;
pub mod cifar10_dvs;
pub mod collate;
pub mod dvs128_gesture;
pub mod es_imagenet;
pub mod events;
pub mod folder;
pub mod integrate;
mod io;
pub mod mat5;
pub mod n_caltech101;
pub mod n_mnist;
pub mod nav_gesture;
pub mod npy;
mod parallel;
pub mod play_frame;
pub mod shd;
pub mod split;
pub mod sub_dataset;
mod tar;
pub mod temporal_delete;
pub(crate) mod zip;

pub use aedat3::load_aedat_v3;
pub use asl_dvs::ASLDVS;
pub use atis_bin::load_atis_bin;
pub use cifar10_dvs::CIFAR10DVS;
pub use collate::{pad_sequence_collate, padded_sequence_mask};
pub use dvs128_gesture::DVS128Gesture;
pub use es_imagenet::ESImageNet;
pub use events::Events;
pub use folder::{
    DataType, FrameSpec, NeuromorphicDatasetFolder, NeuromorphicSample, NeuromorphicSource,
    Resource,
};
pub use integrate::{
    cal_fixed_frames_number_segment_index, integrate_events_by_fixed_duration,
    integrate_events_by_fixed_frames_number,
    integrate_events_file_to_frames_file_by_fixed_duration,
    integrate_events_file_to_frames_file_by_fixed_frames_number, integrate_events_segment_to_frame,
    load_npz_frames, save_frames_to_npz, CustomIntegrate, SplitBy,
};
pub use mat5::load_mat5;
pub use n_caltech101::NCaltech101;
pub use n_mnist::NMNIST;
pub use nav_gesture::{read_atis_tddat, NAVGesture, TdDat};
pub use npy::{read_npz, write_npz, NpyArray, NpyData};
pub use play_frame::{play_frame, play_frame_gif};
pub use shd::{ShdDataType, ShdEvents, SpikingHeidelbergDigits};
pub use split::split_to_train_test_set;
pub use sub_dataset::{create_same_directory_structure, create_sub_dataset};
pub use temporal_delete::{random_temporal_delete, RandomTemporalDelete};

#[cfg(test)]
pub(crate) mod tests {
    use std::path::{Path, PathBuf};

    /// A fresh, empty scratch directory for one test.
    pub(crate) fn test_dir(name: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("sj_neuromorphic_{}_{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    /// The real N-MNIST recording shipped with the project (see shared/data/README.md).
    pub(crate) fn sample_nmnist() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../shared/data/neuromorphic/sample_nmnist.bin")
    }
}
