//! `python -m spikingjelly.activation_based.examples.conv_fashion_mnist` in sj: the same flags, the log printed
//! as a table at the end. Example: `cargo run --release -p sj --example conv_fashion_mnist -- -epochs 2`.
use sj::examples::conv_fashion_mnist;

fn main() {
    // Large activations freed by one step are reused by the next (see the function's docs).
    sj::device::keep_freed_memory();
    let run = || -> sj::Result<sj::polars::prelude::DataFrame> {
        let args = conv_fashion_mnist::default_args().parse(std::env::args().skip(1))?;
        println!("{args:?}");
        conv_fashion_mnist::main(&args)?.to_dataframe()
    };
    match run() {
        Ok(log) => println!("{log}"),
        Err(e) => {
            eprintln!("conv_fashion_mnist: {e}");
            std::process::exit(1);
        }
    }
}
