//! Compiles the C++ shim (autograd bridge, torch.save file writer, autocast) against the libtorch headers that the tch build uses, and gives the
//! test and bench binaries an rpath to libtorch.
use std::path::PathBuf;

fn main() {
    println!("cargo:rerun-if-changed=shim/autograd.cpp");
    println!("cargo:rerun-if-changed=shim/torch_file.cpp");
    println!("cargo:rerun-if-changed=shim/autocast.cpp");
    let lib = PathBuf::from(
        std::env::var("DEP_TCH_LIBTORCH_LIB").expect("torch-sys exposes DEP_TCH_LIBTORCH_LIB"),
    );
    println!("cargo:rustc-link-arg=-Wl,-rpath,{}", lib.display());
    let root = lib.parent().expect("libtorch lib dir has a parent");
    cc::Build::new()
        .cpp(true)
        .file("shim/autograd.cpp")
        .file("shim/torch_file.cpp")
        .file("shim/autocast.cpp")
        .include(root.join("include"))
        .include(root.join("include/torch/csrc/api/include"))
        .flag("-std=c++17")
        .flag("-w")
        .define("_GLIBCXX_USE_CXX11_ABI", "1")
        .opt_level(2)
        .compile("sj_autograd_shim");
}
