//! The `slipstream` binary: a thin shell over the library.

mod cli;

use clap::Parser;

fn main() {
    slipstream::allocator::keep_freed_memory();
    let args = cli::Cli::parse();
    if let Err(e) = cli::run(args) {
        eprintln!("error: {e:#}");
        let bad_input = e.chain().any(|c| c.is::<cli::BadInput>());
        std::process::exit(if bad_input { 2 } else { 1 });
    }
}
