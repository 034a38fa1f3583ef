//! The `slipstream` binary: a thin shell over the library.

mod cli;

use clap::Parser;

fn main() {
    slipstream::allocator::keep_freed_memory();
    let status = match try_main() {
        Ok(()) => 0,
        Err(e) => exit_status(&e),
    };
    std::process::exit(status);
}

fn try_main() -> anyhow::Result<()> {
    cli::run(cli::Cli::parse())
}

/// The one place an error becomes a message and an exit status: 2 for what the user gave us
/// (bad input files, bad arguments), 1 for everything else, and 0 without a word when the
/// reader of standard output went away (`slipstream info x --json | head`).
fn exit_status(e: &anyhow::Error) -> i32 {
    if e.chain().any(|c| c.is::<cli::OutputClosed>()) {
        return 0;
    }
    eprintln!("error: {e:#}");
    if e.chain().any(|c| c.is::<cli::BadInput>()) {
        2
    } else {
        1
    }
}
