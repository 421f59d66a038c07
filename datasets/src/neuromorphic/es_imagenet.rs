//! ES-ImageNet (256 x 256, 1000 classes, train/test): each sample is an `.npz` with `pos` and
//! `neg` arrays of `(y, x, t)` rows; `events_np` holds symbolic links to the extracted files.
use super::events::{narrow, Events};
use super::folder::{NeuromorphicSource, Resource};
use super::io::{create_dir, read_file, sorted_entries};
use super::npy::{read_npz, take_key, NpyArray};
use super::sub_dataset::{create_same_directory_structure, link_or_copy};
use crate::error::{DatasetError, Result};
use std::path::Path;

/// `load_events(fname)`: the `pos` rows get `p = 1`, the `neg` rows `p = 0`; all are sorted by `t`
/// (a stable sort: numpy's `argsort` leaves the order of equal timestamps unspecified), with
/// `x` = column 1 and `y` = column 0.
pub fn load_events(file: impl AsRef<Path>) -> Result<Events> {
    let file = file.as_ref();
    read_pos_neg(file).map_err(|e| e.in_reader("es_imagenet::load_events"))
}

fn read_pos_neg(file: &Path) -> Result<Events> {
    let mut arrays = read_npz(file)?;
    let what = file.display().to_string();
    let mut rows: Vec<(i64, i64, i64, u8)> = Vec::new();
    for (key, p) in [("pos", 1u8), ("neg", 0u8)] {
        let a: NpyArray = take_key(&mut arrays, key, file)?;
        let ok = matches!(a.shape.as_slice(), [_, 3]) || a.is_empty();
        if !ok {
            return Err(DatasetError::format(
                file,
                0,
                format!(
                    "{key} has shape {:?}; [N, 3] rows of (y, x, t) are expected",
                    a.shape
                ),
            ));
        }
        let v = a.to_i64(&format!("{what}: {key}"))?;
        rows.extend(v.chunks_exact(3).map(|r| (r[2], r[1], r[0], p)));
    }
    rows.sort_by_key(|r| r.0);
    let x: Vec<i64> = rows.iter().map(|r| r.1).collect();
    let y: Vec<i64> = rows.iter().map(|r| r.2).collect();
    Events::new(
        rows.iter().map(|r| r.0).collect(),
        narrow(&x, &what, "x")?,
        narrow(&y, &what, "y")?,
        rows.iter().map(|r| r.3).collect(),
    )
}

/// The ES-ImageNet dataset (SpikingJelly's `ESImageNet`). SpikingJelly extracts the 25-part rar
/// archive; sj has no rar reader, so extract `ES-imagenet-0.18.part01.rar` yourself (e.g.
/// `unrar x`) into `root/extract` (giving `root/extract/ES-imagenet-0.18/{train,val,vallabel.txt}`).
#[derive(Clone, Copy, Debug, Default)]
pub struct ESImageNet;

const MD5: [&str; 25] = [
    "900bdd57b5641f7d81cd4620283fef76",
    "5982532009e863a8f4e18e793314c54b",
    "8f408c1f5a1d4604e48d0d062a8289a0",
    "5c5b5cf0a55954eb639964e3da510097",
    "51feb661b4c9fa87860b63e76b914673",
    "fcd007a2b17b7c13f338734c53f6db31",
    "d3e74b96d9c5df15714bbc3abcd329fc",
    "65b9cf7fa63e18d2e7d92ff45a42a5e5",
    "241c9a37a83ff9efd305fe46d012211e",
    "ceee96971008e30d0cdc34086c49fd75",
    "4fbfefbe6e48758fbb72427c81f119cf",
    "c8cc163be4e5f6451201dccbded4ec24",
    "08c9dff32f6b42c49ef7cd78e37c728e",
    "43aa157dc5bd5fcea81315a46e0322cf",
    "480a69b050f465ef01efcc44ae29f7df",
    "11abd24d92b93e7f85acd63abd4a18ab",
    "3891486a6862c63a325c5f16cd01fdd1",
    "cf8bb0525b514f411bca9d7c2d681f7c",
    "3766bc35572ccacc03f0f293c571d0ae",
    "bf73a5e338644122220e41da7b5630e6",
    "564de4a2609cbb0bb67ffa1bc51f2487",
    "60a9e52db1acadfccc9a9809073f0b04",
    "373b5484826d40d7ec35f0e1605cb6ea",
    "a50612e889b20f99cc7b2725dfd72e9e",
    "0802ccdeb0cff29237faf55164524101",
];

const NAMES: [&str; 25] = [
    "ES-imagenet-0.18.part01.rar",
    "ES-imagenet-0.18.part02.rar",
    "ES-imagenet-0.18.part03.rar",
    "ES-imagenet-0.18.part04.rar",
    "ES-imagenet-0.18.part05.rar",
    "ES-imagenet-0.18.part06.rar",
    "ES-imagenet-0.18.part07.rar",
    "ES-imagenet-0.18.part08.rar",
    "ES-imagenet-0.18.part09.rar",
    "ES-imagenet-0.18.part10.rar",
    "ES-imagenet-0.18.part11.rar",
    "ES-imagenet-0.18.part12.rar",
    "ES-imagenet-0.18.part13.rar",
    "ES-imagenet-0.18.part14.rar",
    "ES-imagenet-0.18.part15.rar",
    "ES-imagenet-0.18.part16.rar",
    "ES-imagenet-0.18.part17.rar",
    "ES-imagenet-0.18.part18.rar",
    "ES-imagenet-0.18.part19.rar",
    "ES-imagenet-0.18.part20.rar",
    "ES-imagenet-0.18.part21.rar",
    "ES-imagenet-0.18.part22.rar",
    "ES-imagenet-0.18.part23.rar",
    "ES-imagenet-0.18.part24.rar",
    "ES-imagenet-0.18.part25.rar",
];

impl NeuromorphicSource for ESImageNet {
    fn name(&self) -> &'static str {
        "ESImageNet"
    }
    fn resource_url_md5(&self) -> Vec<Resource> {
        NAMES
            .iter()
            .zip(MD5)
            .map(|(&file_name, md5)| Resource {
                file_name,
                url: "https://cloud.tsinghua.edu.cn/d/94873ab4ec2a4eb497b3/",
                md5: Some(md5),
            })
            .collect()
    }
    fn downloadable(&self) -> bool {
        true
    }
    fn extract_downloaded_files(&self, download_root: &Path, extract_root: &Path) -> Result<()> {
        Err(DatasetError::Missing {
            what: "extracted ES-ImageNet".into(),
            path: extract_root.with_file_name("extract").display().to_string(),
            hint: format!(
                "sj cannot read rar archives: run `unrar x {}` and move ES-imagenet-0.18/ into that folder",
                download_root.join(NAMES[0]).display()
            ),
        })
    }
    /// Links `extract/ES-imagenet-0.18/train/<class>/*` into `events_np/train/<class>/`, and each
    /// `val/<file>` listed in `vallabel.txt` as `<file> <label>` into `events_np/test/class<label>/`.
    fn create_events_np_files(&self, extract_root: &Path, events_np_root: &Path) -> Result<()> {
        let base = extract_root.join("ES-imagenet-0.18");
        let (train_src, train_dir, test_dir) = (
            base.join("train"),
            events_np_root.join("train"),
            events_np_root.join("test"),
        );
        create_dir(&train_dir)?;
        create_same_directory_structure(&train_src, &train_dir)?;
        for (class, dir, is_dir) in sorted_entries(&train_src)? {
            if is_dir {
                for (name, file, _) in sorted_entries(&dir)? {
                    link_or_copy(&file, &train_dir.join(&class).join(name), true)?;
                }
            }
        }
        create_dir(&test_dir)?;
        create_same_directory_structure(&train_dir, &test_dir)?;
        let labels_file = base.join("vallabel.txt");
        let text = String::from_utf8_lossy(&read_file(&labels_file)?).into_owned();
        let mut offset = 0u64;
        for line in text.split_inclusive('\n') {
            let at = offset;
            offset += line.len() as u64;
            let fields: Vec<&str> = line.split_whitespace().collect();
            match fields.as_slice() {
                [] => {}
                [name, label] if label.parse::<u32>().is_ok() => {
                    let dir = test_dir.join(format!("class{label}"));
                    create_dir(&dir)?;
                    link_or_copy(&base.join("val").join(name), &dir.join(name), true)?;
                }
                _ => {
                    return Err(DatasetError::format(
                        &labels_file,
                        at,
                        format!("expected `<file> <label>`, got {:?}", line.trim()),
                    ))
                }
            }
        }
        Ok(())
    }
    fn get_h_w(&self) -> (usize, usize) {
        (256, 256)
    }
    fn load_events_np(&self, file: &Path) -> Result<Events> {
        load_events(file)
    }
    fn train_split(&self) -> bool {
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::neuromorphic::npy::{write_npz, NpyData};
    use crate::neuromorphic::{DataType, NeuromorphicDatasetFolder};

    fn sample(file: &Path, pos: Vec<u8>, neg: Vec<u8>) {
        let p = NpyArray {
            shape: vec![pos.len() / 3, 3],
            data: NpyData::U8(pos),
        };
        let n = NpyArray {
            shape: vec![neg.len() / 3, 3],
            data: NpyData::U8(neg),
        };
        write_npz(file, &[("pos", &p), ("neg", &n)], true).unwrap();
    }

    #[test]
    fn checklist_255_pos_neg_rows_and_linked_splits() {
        let root = crate::neuromorphic::tests::test_dir("es_imagenet");
        let base = root.join("extract/ES-imagenet-0.18");
        for d in ["train/class0", "train/class1", "val"] {
            std::fs::create_dir_all(base.join(d)).unwrap();
        }
        // pos rows (y, x, t): (1, 2, 5), (3, 4, 1); neg rows: (5, 6, 3), (7, 8, 1).
        sample(
            &base.join("train/class1/n01.npz"),
            vec![1, 2, 5, 3, 4, 1],
            vec![5, 6, 3, 7, 8, 1],
        );
        sample(&base.join("train/class0/n00.npz"), vec![0, 0, 0], vec![]);
        sample(&base.join("val/v0.npz"), vec![9, 9, 9], vec![]);
        std::fs::write(base.join("vallabel.txt"), "v0.npz 1\n").unwrap();
        let train =
            NeuromorphicDatasetFolder::new(ESImageNet, &root, Some(true), DataType::Event).unwrap();
        assert_eq!(train.targets(), [0, 1]);
        let e = train.get_events(1).unwrap().0;
        // Sorted by t, ties in file order (pos before neg): t 1 (pos), 1 (neg), 3, 5.
        assert_eq!(e.t, [1, 1, 3, 5]);
        assert_eq!(e.x, [4, 8, 6, 2]);
        assert_eq!(e.y, [3, 7, 5, 1]);
        assert_eq!(e.p, [1, 0, 0, 1]);
        let test = NeuromorphicDatasetFolder::new(ESImageNet, &root, Some(false), DataType::Event)
            .unwrap();
        assert_eq!((test.len(), test.targets()), (1, vec![1]));
        std::fs::write(base.join("val/bad.npz"), b"PK").unwrap();
        assert!(load_events(base.join("val/bad.npz"))
            .unwrap_err()
            .to_string()
            .contains("bad.npz"));
    }
}
