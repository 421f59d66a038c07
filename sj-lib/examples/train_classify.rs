//! SpikingJelly's `train_imagenet_example.py` (its `Trainer` with `SResNetTrainer`) in sj: the same
//! flags (`-h` lists them), the run folder laid out as SpikingJelly lays it out. Example:
//! `cargo run --release -p sj --example train_classify -- --model sew_resnet18 --dataset
//! fashion_mnist --data-path ~/.cache/sj/data/fashion-mnist --T 4 -b 64 --epochs 8 --device cpu`.
use sj::model::train_classify::{self, ClassifyTrainer, Parsed, SResNetTrainer};

fn main() {
    // Large activations freed by one step are reused by the next (see the function's docs).
    sj::device::keep_freed_memory();
    let run = || -> sj::Result<()> {
        let parser = SResNetTrainer.get_args_parser();
        let args = match train_classify::parse_args(&parser, std::env::args_os().skip(1))? {
            Parsed::Help(help) => {
                println!("{help}");
                return Ok(());
            }
            Parsed::Args(args) => args,
        };
        let log = train_classify::main(&SResNetTrainer, &args)?;
        println!("{}", log.to_dataframe()?);
        Ok(())
    };
    if let Err(e) = run() {
        eprintln!("train_classify: {e}");
        std::process::exit(1);
    }
}
