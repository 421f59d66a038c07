//! Cross-crate tests live in `tests/tests/`.

/// Runs `script` with the Python of the venv sj builds on (`$VIRTUAL_ENV`: torch 2.11, torchvision,
/// tensorboard, installed by `setup.sh`) and returns its standard output; panics with both
/// streams when it fails.
pub fn venv_python(script: &str) -> String {
    let venv = std::env::var("VIRTUAL_ENV").expect(
        "VIRTUAL_ENV: run through ./test.sh or source ~/.cache/sj/env.sh (sj builds on its torch venv)",
    );
    let out = std::process::Command::new(std::path::Path::new(&venv).join("bin/python"))
        .args(["-c", script])
        .output()
        .expect("the venv's python runs");
    assert!(
        out.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}
