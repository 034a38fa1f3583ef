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
    eprintln!("error: {}", message(e));
    if e.chain().any(is_input_error) {
        2
    } else {
        1
    }
}

/// The error and its causes, joined by `: `, leaving out a cause whose text the message already
/// holds (library errors name their cause in their own text and also expose it as `source`).
fn message(e: &anyhow::Error) -> String {
    let mut text = String::new();
    for cause in e.chain() {
        let part = cause.to_string();
        if text.contains(&part) {
            continue;
        }
        if !text.is_empty() {
            text.push_str(": ");
        }
        text.push_str(&part);
    }
    text
}

/// True for an error the user caused: one the CLI marked so, or a library error that knows it is
/// the input's fault.
fn is_input_error(e: &(dyn std::error::Error + 'static)) -> bool {
    e.is::<cli::BadInput>()
        || e.downcast_ref::<slipstream::data::DataError>()
            .is_some_and(|e| e.is_input_error())
        || e.downcast_ref::<slipstream::mesh::MeshError>()
            .is_some_and(|e| e.is_input_error())
        || e.downcast_ref::<slipstream::model::ModelError>()
            .is_some_and(|e| e.is_input_error())
        || e.downcast_ref::<slipstream::openfoam::generate::GenerateError>()
            .is_some_and(|e| e.is_input_error())
}
