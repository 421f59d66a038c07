//! `python -m spikingjelly.activation_based.examples.classify_dvsg` in sj: the same flags, the log
//! printed as a table at the end. Example, with the DVS128 Gesture files of IBM's page in
//! `/data/DVS128Gesture/download`: `cargo run --release -p sj --example classify_dvsg -- -T 16 -b 16
//! -epochs 64 -data-dir /data/DVS128Gesture -out-dir ./logs -opt adam -lr 0.001 -channels 128`.
use sj::examples::classify_dvsg;

fn main() {
    sj::device::keep_freed_memory();
    let run = || -> sj::Result<sj::polars::prelude::DataFrame> {
        let args = classify_dvsg::default_args().parse(std::env::args().skip(1))?;
        println!("{args:?}");
        classify_dvsg::main(&args)?.to_dataframe()
    };
    match run() {
        Ok(log) => println!("{log}"),
        Err(e) => {
            eprintln!("classify_dvsg: {e}");
            std::process::exit(1);
        }
    }
}
