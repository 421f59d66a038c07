//! Loading and saving parameters by their SpikingJelly / PyTorch `state_dict` names.
//!
//! A network's parameters live in a `tch::nn::VarStore` under the paths given to its layers
//! (`0.weight`, `1.running_mean`, ...), the same names a PyTorch SpikingJelly model has. A state
//! dict exported from Python as `.npz` (`numpy.savez(path, **{k: v.numpy() for k, v in
//! net.state_dict().items()})`) or `.safetensors` loads by name with [`load_state_dict`].
use crate::error::{Result, SjError};
use std::collections::BTreeSet;
use std::path::Path;
use tch::{nn, Tensor};

fn read(path: &Path) -> Result<Vec<(String, Tensor)>> {
    let shown = path.display().to_string();
    let tensors = match path.extension().and_then(|e| e.to_str()) {
        Some("npz") => Tensor::read_npz(path),
        Some("safetensors") => Tensor::read_safetensors(path),
        Some("ot") | Some("pt") => Tensor::load_multi(path),
        _ => {
            return Err(SjError::config(
                "load_state_dict",
                format!("{shown}: expected a .npz, .safetensors or .ot file"),
            ))
        }
    };
    tensors.map_err(|e| SjError::config("load_state_dict", format!("{shown}: {e}")))
}

/// `load_state_dict(path, strict=True)`: copies every tensor of the file into the variable of the
/// same name. Errors, changing nothing, when names are missing or unexpected (PyTorch's "Missing
/// key(s)" / "Unexpected key(s)") or a shape differs.
pub fn load_state_dict(vs: &nn::VarStore, path: impl AsRef<Path>) -> Result<()> {
    let path = path.as_ref();
    load_named_tensors(vs, &read(path)?, &path.display().to_string())
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
            format!("{origin}: Missing key(s): {missing:?}. Unexpected key(s): {unexpected:?}"),
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

/// Saves every variable by name as `.npz` or `.safetensors` (by the extension of `path`).
pub fn save_state_dict(vs: &nn::VarStore, path: impl AsRef<Path>) -> Result<()> {
    let path = path.as_ref();
    let mut named: Vec<(String, Tensor)> = vs.variables().into_iter().collect();
    named.sort_by(|a, b| a.0.cmp(&b.0));
    let written = match path.extension().and_then(|e| e.to_str()) {
        Some("npz") => Tensor::write_npz(&named, path),
        Some("safetensors") => Tensor::write_safetensors(&named, path),
        _ => {
            return Err(SjError::config(
                "save_state_dict",
                format!("{}: use a .npz or .safetensors name", path.display()),
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
}
