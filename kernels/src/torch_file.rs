//! Writing files that PyTorch's `torch.load` reads (the zip format of `.pt`/`.pth`), with
//! libtorch's own pickler and archive writer through the C++ shim (the steps of
//! `torch::jit::pickle_save`, without the TorchScript type tag that `torch.load(weights_only=True)`
//! refuses).
//!
//! Reading goes elsewhere (sj's `state_dict` uses the `pytorch-reader` crate): libtorch 2.11's
//! `pickle_load` turns the `collections.OrderedDict` that `model.state_dict()` returns into
//! `None` and then fails ("Expected GenericDict but got None", pytorch/pytorch#100741), so it
//! cannot read the state dicts Python writes.
use crate::error::KernelError;
use std::ffi::{c_char, c_int, c_void, CStr, CString};
use tch::Tensor;
use torch_sys::C_tensor;

type WriteFn = unsafe extern "C" fn(*mut c_void, *const c_char, i64);

extern "C" {
    fn sj_torch_file_save(
        names: *const *const c_char,
        tensors: *const *mut C_tensor,
        n: i64,
        ctx: *mut c_void,
        write: WriteFn,
        err: *mut c_char,
        err_len: i64,
    ) -> c_int;
}

unsafe extern "C" fn append(ctx: *mut c_void, data: *const c_char, len: i64) {
    // SAFETY: `ctx` is the Vec passed by `save`; `data` holds `len` bytes for the call.
    unsafe {
        let out = &mut *(ctx as *mut Vec<u8>);
        out.extend_from_slice(std::slice::from_raw_parts(data as *const u8, len as usize));
    }
}

fn message(err: &[c_char]) -> String {
    // SAFETY: the shim wrote a NUL-terminated message into the buffer.
    let msg = unsafe { CStr::from_ptr(err.as_ptr()) }.to_string_lossy();
    // libtorch appends a C++ backtrace after the first line; the first line is the message.
    msg.lines().next().unwrap_or_default().to_string()
}

/// The bytes of a `torch.save` file holding the dictionary `{name: tensor}` (tensors are saved
/// from the CPU, contiguous), which Python reads with `torch.load` (also with
/// `weights_only=True`) and `model.load_state_dict`.
pub fn save(named: &[(String, Tensor)]) -> Result<Vec<u8>, KernelError> {
    let names = named
        .iter()
        .map(|(n, _)| CString::new(n.as_str()))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| KernelError::Input(format!("a name holds a NUL byte: {e}")))?;
    let mut tensors: Vec<Tensor> = named
        .iter()
        .map(|(_, t)| t.detach().to_device(tch::Device::Cpu).contiguous())
        .collect();
    let name_ptrs: Vec<*const c_char> = names.iter().map(|n| n.as_ptr()).collect();
    let tensor_ptrs: Vec<*mut C_tensor> = tensors.iter_mut().map(|t| t.as_mut_ptr()).collect();
    let mut out: Vec<u8> = Vec::new();
    let mut err = [0 as c_char; 1024];
    // SAFETY: the name and tensor arrays hold `named.len()` live entries for the call; `out`
    // outlives it and `append` matches the callback signature.
    let rc = unsafe {
        sj_torch_file_save(
            name_ptrs.as_ptr(),
            tensor_ptrs.as_ptr(),
            named.len() as i64,
            &mut out as *mut _ as *mut c_void,
            append,
            err.as_mut_ptr(),
            err.len() as i64,
        )
    };
    if rc != 0 {
        return Err(KernelError::Input(message(&err)));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use tch::{Device, Kind};

    #[test]
    fn writes_a_torch_zip_archive() {
        let w = Tensor::from_slice(&[1.5f32, -2.0]);
        let bytes = save(&[("fc.weight".into(), w)]).unwrap();
        assert_eq!(&bytes[..4], b"PK\x03\x04", "a zip archive");
        let text = String::from_utf8_lossy(&bytes);
        assert!(
            text.contains("data.pkl") && text.contains("fc.weight"),
            "{text}"
        );
        assert!(save(&[("a\0b".into(), Tensor::ones([1], (Kind::Float, Device::Cpu)))]).is_err());
    }
}
