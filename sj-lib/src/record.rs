//! Run records: settings as JSON (`args.json`, `run.json`) beside the per-epoch log, as
//! SpikingJelly's example scripts write `args.txt` and TensorBoard logs into their output folder.
//!
//! [`Args`](crate::examples::Args), [`Trainer`](crate::training::Trainer),
//! [`NodeConfig`](crate::neuron::NodeConfig) and [`Surrogate`](crate::surrogate::Surrogate) are
//! `Serialize + Deserialize`; [`save_json`] and [`load_json`] write and read them.
//!
//! ```
//! use sj::examples::lif_fc_mnist;
//! let dir = std::env::temp_dir().join(format!("sj-record-doc-{}", std::process::id()));
//! let args = lif_fc_mnist::default_args();
//! sj::record::save_json(dir.join("args.json"), &args).unwrap();
//! let back: sj::examples::Args = sj::record::load_json(dir.join("args.json")).unwrap();
//! assert_eq!(back, args);
//! ```
use crate::error::{Result, SjError};
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::path::Path;

/// Writes `path` through `write` on a temporary sibling (unique to the process) renamed into
/// place, so an interrupted write never leaves a half-written file; the temporary is removed on
/// failure.
pub(crate) fn write_atomic(
    path: &Path,
    write: impl FnOnce(&mut std::fs::File) -> Result<()>,
) -> Result<()> {
    let io = |source| SjError::Io {
        path: path.display().to_string(),
        source,
    };
    let tmp = path.with_file_name(format!(
        ".{}.partial-{}",
        path.file_name().unwrap_or_default().to_string_lossy(),
        std::process::id()
    ));
    let mut file = std::fs::File::create(&tmp).map_err(io)?;
    let written = write(&mut file);
    drop(file);
    if let Err(e) = written {
        let _ = std::fs::remove_file(&tmp);
        return Err(e);
    }
    std::fs::rename(&tmp, path).map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        io(e)
    })
}

/// Writes `value` as pretty-printed JSON to `path` (creating its folder), through a temporary
/// file renamed into place.
pub fn save_json<T: Serialize + ?Sized>(path: impl AsRef<Path>, value: &T) -> Result<()> {
    let path = path.as_ref();
    let json = serde_json::to_string_pretty(value)
        .map_err(|e| SjError::config("record::save_json", format!("{}: {e}", path.display())))?;
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|source| SjError::Io {
            path: dir.display().to_string(),
            source,
        })?;
    }
    write_atomic(path, |file| {
        std::io::Write::write_all(file, (json + "\n").as_bytes()).map_err(|source| SjError::Io {
            path: path.display().to_string(),
            source,
        })
    })
}

/// Reads a value written by [`save_json`]; the error names the file and what does not fit.
pub fn load_json<T: DeserializeOwned>(path: impl AsRef<Path>) -> Result<T> {
    let path = path.as_ref();
    let text = std::fs::read(path).map_err(|source| SjError::Io {
        path: path.display().to_string(),
        source,
    })?;
    serde_json::from_slice(&text)
        .map_err(|e| SjError::config("record::load_json", format!("{}: {e}", path.display())))
}

/// `Serialize` and `Deserialize` through `Display` and `FromStr` (`"m"`, `"fused"`, `"cuda:0"`).
macro_rules! serde_as_str {
    ($($ty:ty),*) => {$(
        impl serde::Serialize for $ty {
            fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
                s.collect_str(self)
            }
        }
        impl<'de> serde::Deserialize<'de> for $ty {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
                let text = String::deserialize(d)?;
                text.parse().map_err(serde::de::Error::custom)
            }
        }
    )*};
}
serde_as_str!(crate::base::StepMode, crate::base::Backend);

/// `tch::Device` as `"cpu"`, `"cuda:<i>"`, `"mps"` or `"vulkan"` (`#[serde(with = ...)]`).
pub mod device {
    use serde::{Deserialize, Deserializer, Serializer};
    use tch::Device;

    /// The device's name.
    pub fn name(device: Device) -> String {
        match device {
            Device::Cpu => "cpu".into(),
            Device::Cuda(i) => format!("cuda:{i}"),
            Device::Mps => "mps".into(),
            Device::Vulkan => "vulkan".into(),
        }
    }

    /// Parses a device name (`cuda` is `cuda:0`).
    pub fn parse(text: &str) -> Option<Device> {
        match text {
            "cpu" => Some(Device::Cpu),
            "cuda" => Some(Device::Cuda(0)),
            "mps" => Some(Device::Mps),
            "vulkan" => Some(Device::Vulkan),
            other => other
                .strip_prefix("cuda:")
                .and_then(|i| i.parse().ok())
                .map(Device::Cuda),
        }
    }

    /// Writes the device's name.
    pub fn serialize<S: Serializer>(device: &Device, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&name(*device))
    }

    /// Reads a device name.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Device, D::Error> {
        let text = String::deserialize(d)?;
        parse(&text).ok_or_else(|| {
            serde::de::Error::custom(format!(
                "unknown device {text:?} (cpu, cuda, cuda:<i>, mps, vulkan)"
            ))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::base::{Backend, StepMode};
    use tch::Device;

    #[test]
    fn enums_and_devices_as_strings() {
        assert_eq!(serde_json::to_string(&StepMode::M).unwrap(), r#""m""#);
        assert_eq!(
            serde_json::to_string(&Backend::Fused).unwrap(),
            r#""fused""#
        );
        assert_eq!(
            serde_json::from_str::<Backend>(r#""torch""#).unwrap(),
            Backend::Torch
        );
        assert!(serde_json::from_str::<StepMode>(r#""x""#).is_err());
        for d in [Device::Cpu, Device::Cuda(3), Device::Mps] {
            assert_eq!(device::parse(&device::name(d)), Some(d));
        }
        assert_eq!(device::parse("cuda:x"), None);
        let dir = std::env::temp_dir().join(format!("sj-record-{}", std::process::id()));
        let e = load_json::<StepMode>(dir.join("none.json"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("none.json"), "{e}");
        save_json(dir.join("bad.json"), &1.5f64).unwrap();
        let e = load_json::<StepMode>(dir.join("bad.json"))
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("record::load_json: ") && e.contains("bad.json"),
            "{e}"
        );
    }
}
