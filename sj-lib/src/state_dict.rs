//! Loading and saving parameters by their SpikingJelly / PyTorch `state_dict` names.
//!
//! A network's parameters live in a `tch::nn::VarStore` under the paths given to its layers
//! (`0.weight`, `1.running_mean`, ...), the same names a PyTorch SpikingJelly model has. A state
//! dict exported from Python as `.npz` (`numpy.savez(path, **{k: v.numpy() for k, v in
//! net.state_dict().items()})`) or `.safetensors` loads by name with [`load_state_dict`], and so
//! does what `torch.save(net.state_dict(), path)` writes (`.pt`, `.pth`, `.bin`: the zip format of
//! PyTorch 1.6+ and the older ones), BatchNorm buffers included. [`save_state_dict`] to a `.pt` or
//! `.pth` name writes a file that `net.load_state_dict(torch.load(path))` reads in Python.
//!
//! `.npz` files are read by sj-datasets' checked reader ([`sj_datasets::neuromorphic::read_npz`]),
//! not tch's, which trusts the `.npy` headers (a header claiming more values than its entry holds
//! made tch read past the buffer). `.safetensors` files are read by the `safetensors` crate, which
//! checks the header length, the JSON and every tensor's `data_offsets` against its dtype, shape
//! and the file size before anything is read. `torch.save` files are read by the `pytorch-reader`
//! crate (burn's; it checks the archive, the pickle and each storage's size and checksum), because
//! libtorch's own `pickle_load` turns the `OrderedDict` of a `state_dict()` into `None` and fails
//! (pytorch/pytorch#100741, still so in 2.11); they are written by libtorch's `pickle_save`
//! through sj's C++ shim. `.ot` files (and `.pt` files that are TorchScript archives, as tch's
//! `save_multi` writes) are read by libtorch, whose errors come back as errors.
use crate::error::{Result, SjError};
use pytorch_reader::PytorchReader;
use sj_datasets::neuromorphic::read_npz;
use sj_datasets::DatasetError;
use sj_kernels::torch_file;
use std::collections::BTreeSet;
use std::io::Write;
use std::path::Path;
use tch::{nn, Kind, Tensor};

/// Every array of the `.npz` at `path` as a tensor of its dtype and shape (see
/// [`sj_datasets::neuromorphic::NpyArray::to_tensor`]); `shown` names the file in errors.
fn read_npz_tensors(path: &Path, shown: &str) -> sj_datasets::Result<Vec<(String, Tensor)>> {
    read_npz(path)?
        .into_iter()
        .map(|(name, array)| {
            let tensor = array
                .to_tensor()
                .map_err(|e| e.in_reader(&format!("{shown}: '{name}'")))?;
            Ok((name, tensor))
        })
        .collect()
}

/// The tch kind of a `pytorch-reader` dtype (tch has no unsigned kinds wider than 8 bits).
fn kind_of(dtype: pytorch_reader::DType) -> Option<Kind> {
    use pytorch_reader::DType as D;
    Some(match dtype {
        D::F64 => Kind::Double,
        D::F32 => Kind::Float,
        D::F16 => Kind::Half,
        D::BF16 => Kind::BFloat16,
        D::I64 => Kind::Int64,
        D::I32 => Kind::Int,
        D::I16 => Kind::Int16,
        D::I8 => Kind::Int8,
        D::U8 => Kind::Uint8,
        D::Bool => Kind::Bool,
        D::U16 | D::U32 | D::U64 => return None,
    })
}

/// Every tensor of the `torch.save` file at `path` (`.pt`, `.pth`, `.bin`), named by its dotted
/// keys (`"0.weight"`, `"network.1.running_mean"`) and sorted by name, with the dtype and shape
/// it was saved with. `entry` picks a nested dictionary, as `torch.load(path)['model']` does for
/// a checkpoint `{'model': net.state_dict(), 'epoch': 3}`; without it, the tensors of nested
/// dictionaries are named `model.0.weight`, .... Non-tensor values are skipped.
pub fn read_torch_file(
    path: impl AsRef<Path>,
    entry: Option<&str>,
) -> Result<Vec<(String, Tensor)>> {
    let path = path.as_ref();
    let shown = path.display().to_string();
    let reader = match entry {
        Some(key) => PytorchReader::with_top_level_key(path, key),
        None => PytorchReader::new(path),
    }
    .map_err(|source| SjError::TorchFile {
        path: shown.clone(),
        source,
    })?;
    let mut named: Vec<(String, Tensor)> = reader
        .into_tensors()
        .into_iter()
        .map(|(name, t)| {
            let bad = |why: String| {
                SjError::config("read_torch_file", format!("{shown}: '{name}': {why}"))
            };
            let kind = kind_of(t.dtype()).ok_or_else(|| {
                bad(format!(
                    "{:?} tensors are not supported by libtorch's Rust API",
                    t.dtype()
                ))
            })?;
            let bytes = t.read().map_err(|e| bad(e.to_string()))?;
            let shape: Vec<i64> = t.shape().iter().map(|&d| d as i64).collect();
            let tensor =
                Tensor::f_from_data_size(&bytes, &shape, kind).map_err(|e| bad(e.to_string()))?;
            Ok((name, tensor))
        })
        .collect::<Result<_>>()?;
    named.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(named)
}

/// The named tensors of a state-dict file, by its extension.
pub fn read_state_dict(path: impl AsRef<Path>) -> Result<Vec<(String, Tensor)>> {
    let path = path.as_ref();
    let shown = path.display().to_string();
    let tch_error = |e: tch::TchError| SjError::config("load_state_dict", format!("{shown}: {e}"));
    match path.extension().and_then(|e| e.to_str()) {
        Some("npz") => read_npz_tensors(path, &shown).map_err(|e| {
            SjError::Dataset(DatasetError::Reader {
                reader: "load_state_dict".into(),
                source: Box::new(e),
            })
        }),
        Some("safetensors") => Tensor::read_safetensors(path).map_err(tch_error),
        Some("ot") => Tensor::load_multi(path).map_err(tch_error),
        // A TorchScript archive (tch's `save_multi`) is no torch.save file: libtorch reads it.
        Some("pt") | Some("pth") | Some("bin") => {
            read_torch_file(path, None).or_else(|e| Tensor::load_multi(path).map_err(|_| e))
        }
        _ => Err(SjError::config(
            "load_state_dict",
            format!("{shown}: expected a .pt, .pth, .bin, .npz, .safetensors or .ot file"),
        )),
    }
}

/// `load_state_dict(path, strict=True)`: copies every tensor of the file into the variable of the
/// same name. Errors, changing nothing, when names are missing or unexpected (PyTorch's "Missing
/// key(s)" / "Unexpected key(s)") or a shape differs.
pub fn load_state_dict(vs: &nn::VarStore, path: impl AsRef<Path>) -> Result<()> {
    let path = path.as_ref();
    load_named_tensors(vs, &read_state_dict(path)?, &path.display().to_string())
}

/// [`load_state_dict`] of the dictionary under `entry` of a `torch.save` checkpoint, as
/// `net.load_state_dict(torch.load(path)[entry])` does.
pub fn load_state_dict_entry(vs: &nn::VarStore, path: impl AsRef<Path>, entry: &str) -> Result<()> {
    let path = path.as_ref();
    let origin = format!("{}['{entry}']", path.display());
    load_named_tensors(vs, &read_torch_file(path, Some(entry))?, &origin)
}

/// [`load_state_dict`] from tensors already in memory; `origin` names where they came from in errors.
pub fn load_named_tensors(
    vs: &nn::VarStore,
    loaded: &[(String, Tensor)],
    origin: &str,
) -> Result<()> {
    let mut vars = vs.variables();
    let have: BTreeSet<&String> = vars.keys().collect();
    let got: BTreeSet<&String> = loaded.iter().map(|(k, _)| k).collect();
    let missing: Vec<&&String> = have.difference(&got).collect();
    let unexpected: Vec<&&String> = got.difference(&have).collect();
    if !missing.is_empty() || !unexpected.is_empty() {
        return Err(SjError::config(
            "load_state_dict",
            format!(
                "{origin}: Missing key(s): {missing:?}. Unexpected key(s): {unexpected:?}{}",
                nesting_hint(&have, &got)
            ),
        ));
    }
    for (name, src) in loaded {
        let dst = &vars[name];
        if dst.size() != src.size() {
            return Err(SjError::Shape {
                module: format!("load_state_dict '{name}'"),
                expected: format!("{:?}", dst.size()),
                got: src.size(),
            });
        }
    }
    tch::no_grad(|| {
        for (name, src) in loaded {
            let dst = vars.get_mut(name).expect("checked above");
            dst.copy_(&src.to_kind(dst.kind()).to_device(dst.device()));
        }
    });
    Ok(())
}

/// When every file key is `<entry>.<a variable's name>`, how to load them.
fn nesting_hint(have: &BTreeSet<&String>, got: &BTreeSet<&String>) -> String {
    let entry = got
        .iter()
        .next()
        .and_then(|k| k.split_once('.'))
        .map(|(e, _)| e);
    match entry {
        Some(e)
            if got.iter().all(|k| {
                k.strip_prefix(e)
                    .and_then(|r| r.strip_prefix('.'))
                    .is_some_and(|r| have.contains(&r.to_string()))
            }) =>
        {
            format!(
                " (the file holds the state dict under '{e}': use \
                 load_state_dict_entry(vs, path, \"{e}\"))"
            )
        }
        _ => String::new(),
    }
}

/// Saves every variable by name, as `.npz`, `.safetensors`, or a `torch.save` file for a `.pt` or
/// `.pth` name (a `dict` that Python's `torch.load` reads, `weights_only=True` included), by the
/// extension of `path`.
pub fn save_state_dict(vs: &nn::VarStore, path: impl AsRef<Path>) -> Result<()> {
    let path = path.as_ref();
    let mut named: Vec<(String, Tensor)> = vs.variables().into_iter().collect();
    named.sort_by(|a, b| a.0.cmp(&b.0));
    let written = match path.extension().and_then(|e| e.to_str()) {
        Some("npz") => Tensor::write_npz(&named, path),
        Some("safetensors") => Tensor::write_safetensors(&named, path),
        Some("pt") | Some("pth") => {
            let bytes =
                torch_file::save(&named).map_err(|e| SjError::kernel("save_state_dict", e))?;
            return crate::record::write_atomic(path, |f| {
                f.write_all(&bytes).map_err(|source| SjError::Io {
                    path: path.display().to_string(),
                    source,
                })
            });
        }
        _ => {
            return Err(SjError::config(
                "save_state_dict",
                format!(
                    "{}: use a .pt, .pth, .npz or .safetensors name",
                    path.display()
                ),
            ))
        }
    };
    written.map_err(|e| SjError::config("save_state_dict", format!("{}: {e}", path.display())))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layer::Linear;
    use tch::Device;

    #[test]
    fn round_trip_and_strict_names() {
        let dir = std::env::temp_dir().join(format!("sj-state-dict-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let a = nn::VarStore::new(Device::Cpu);
        let _fc = Linear::new(&(a.root() / "0"), 3, 2, true).unwrap();
        let b = nn::VarStore::new(Device::Cpu);
        let fc_b = Linear::new(&(b.root() / "0"), 3, 2, true).unwrap();
        for ext in ["npz", "safetensors"] {
            let file = dir.join(format!("fc.{ext}"));
            save_state_dict(&a, &file).unwrap();
            load_state_dict(&b, &file).unwrap();
            assert!(fc_b.weight().equal(&a.variables()["0.weight"]), "{ext}");
        }
        let c = nn::VarStore::new(Device::Cpu);
        let _other = Linear::new(&(c.root() / "1"), 3, 2, false).unwrap();
        let err = load_state_dict(&c, dir.join("fc.npz"))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("Missing key(s): [\"1.weight\"]")
                && err.contains("Unexpected key(s): [\"0.bias\", \"0.weight\"]"),
            "{err}"
        );
        let d = nn::VarStore::new(Device::Cpu);
        let _wide = Linear::new(&(d.root() / "0"), 4, 2, true).unwrap();
        assert!(load_state_dict(&d, dir.join("fc.npz"))
            .unwrap_err()
            .to_string()
            .contains("0.weight"));
        assert!(load_state_dict(&d, dir.join("missing.npz")).is_err());
        assert!(save_state_dict(&d, dir.join("x.txt")).is_err());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    /// A `.npy` entry whose header says `shape` of `<f4` over `body`.
    fn npy(shape: &str, body: &[u8]) -> Vec<u8> {
        let dict = format!("{{'descr': '<f4', 'fortran_order': False, 'shape': {shape}, }}");
        sj_datasets::fixtures::npy(&dict, body).unwrap()
    }

    #[test]
    fn npz_goes_through_the_checked_reader() {
        use sj_datasets::fixtures::{numpy_events_npz, zip_archive};
        use sj_datasets::neuromorphic::{write_npz, NpyArray, NpyData};
        let dir = std::env::temp_dir().join(format!("sj-state-dict-npz-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let vs = nn::VarStore::new(Device::Cpu);
        let fc = Linear::new(&(vs.root() / "0"), 3, 2, true).unwrap();
        let floats = |v: &[f32]| v.iter().flat_map(|x| x.to_le_bytes()).collect::<Vec<u8>>();
        // Headers that claim more values than their entries hold: tch's reader read past the
        // buffer (garbage in the weights, or a crash for a large claim).
        for (shape, claimed) in [("(2, 3)", 24), ("(1000000000,)", 4000000000u64)] {
            let entries = vec![
                (
                    "0.weight.npy".to_string(),
                    npy(shape, &floats(&[1.0, 2.0, 3.0, 4.0])),
                ),
                ("0.bias.npy".to_string(), npy("(2,)", &floats(&[0.5, -0.5]))),
            ];
            let file = dir.join("lying.npz");
            std::fs::write(&file, zip_archive(&entries, false).unwrap()).unwrap();
            let e = load_state_dict(&vs, &file).unwrap_err().to_string();
            assert!(
                e.starts_with("load_state_dict: read_npz: ")
                    && e.contains("0.weight.npy")
                    && e.contains(&format!("needs {claimed}")),
                "{e}"
            );
        }
        // A damaged local header (tch's reader panicked) is an error too.
        let mut z = zip_archive(
            &[(
                "0.weight.npy".to_string(),
                npy("(2, 3)", &floats(&[0.0; 6])),
            )],
            false,
        )
        .unwrap();
        z[0] ^= 0xFF;
        std::fs::write(dir.join("damaged.npz"), &z).unwrap();
        let e = load_state_dict(&vs, dir.join("damaged.npz"))
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("load_state_dict: read_npz: ")
                && e.contains("bad local header signature"),
            "{e}"
        );
        // np.savez_compressed output (u4 arrays, ZIP64 headers) loads, converted to the variables' kind.
        let ev = nn::VarStore::new(Device::Cpu);
        let t = ev.root().zeros("t", &[3]);
        for k in ["x", "y", "p"] {
            let _ = ev.root().zeros(k, &[3]);
        }
        std::fs::write(dir.join("numpy.npz"), numpy_events_npz()).unwrap();
        load_state_dict(&ev, dir.join("numpy.npz")).unwrap();
        assert_eq!(Vec::<f32>::try_from(&t).unwrap(), [1.0, 5.0, 9.0]);
        // Half-precision and big-endian arrays, and the shape of each array, survive.
        let w = NpyArray {
            shape: vec![2, 3],
            data: NpyData::F16(vec![0x3C00, 0xC100, 0, 0x3800, 0x4000, 0x7BFF]),
        };
        let b = NpyArray {
            shape: vec![2],
            data: NpyData::F64(vec![0.25, -1.0]),
        };
        write_npz(
            dir.join("half.npz"),
            &[("0.weight", &w), ("0.bias", &b)],
            true,
        )
        .unwrap();
        load_state_dict(&vs, dir.join("half.npz")).unwrap();
        assert_eq!(
            Vec::<f32>::try_from(&fc.weight().flatten(0, -1)).unwrap(),
            [1.0, -2.5, 0.0, 0.5, 2.0, 65504.0]
        );
        let flat = NpyArray {
            shape: vec![6],
            ..w
        };
        write_npz(
            dir.join("flat.npz"),
            &[("0.weight", &flat), ("0.bias", &b)],
            false,
        )
        .unwrap();
        let e = load_state_dict(&vs, dir.join("flat.npz"))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("load_state_dict '0.weight'") && e.contains("[6]"),
            "{e}"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
