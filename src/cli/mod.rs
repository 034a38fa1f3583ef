//! Command-line interface: the arguments (`args`), one function per command calling the library
//! (`*_commands`), and the errors `main` turns into exit statuses.

/// `println!` that returns the write's error (see [`output_error`]) instead of panicking when
/// standard output is a closed pipe.
macro_rules! outln {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        writeln!(std::io::stdout().lock(), $($arg)*).map_err(crate::cli::output_error)
    }};
}

/// `print!` likewise.
macro_rules! out {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        write!(std::io::stdout().lock(), $($arg)*).map_err(crate::cli::output_error)
    }};
}

mod args;
mod data_commands;
mod mesh_commands;
mod model_commands;
mod progress;

use anyhow::Result;

pub use args::Cli;
use args::{BenchCommand, Command, DatasetCommand, GenerateCommand};

/// Standard output was closed by its reader (`slipstream info x --json | head`): not an error
/// of ours or the user's; `main` ends quietly with status 0, as `cat` and ripgrep do.
#[derive(Debug)]
pub struct OutputClosed;

impl std::fmt::Display for OutputClosed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("standard output was closed")
    }
}

impl std::error::Error for OutputClosed {}

/// A failed write to standard output: [`OutputClosed`] for a closed pipe, else the I/O error.
pub fn output_error(e: std::io::Error) -> anyhow::Error {
    if e.kind() == std::io::ErrorKind::BrokenPipe {
        anyhow::Error::new(OutputClosed)
    } else {
        anyhow::Error::new(e).context("writing to standard output")
    }
}

/// Errors the user caused (bad input files, bad arguments): exit status 2.
#[derive(Debug)]
pub struct BadInput(pub anyhow::Error);

impl std::fmt::Display for BadInput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:#}", self.0)
    }
}

impl std::error::Error for BadInput {}

pub fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Info(a) => mesh_commands::info(&a),
        Command::Convert(a) => mesh_commands::convert(&a),
        Command::Sample(a) => mesh_commands::sample(&a),
        Command::Bench(BenchCommand::Read(a)) => mesh_commands::bench_read(&a),
        Command::Bench(BenchCommand::Geometry(a)) => mesh_commands::bench_geometry(&a),
        Command::Bench(BenchCommand::Model(a)) => model_commands::bench_model(&a),
        Command::Bench(BenchCommand::Stream(a)) => model_commands::bench_stream(&a),
        Command::Predict(a) => model_commands::predict(&a),
        Command::Train(a) => model_commands::train(&a),
        Command::Average(a) => model_commands::average(&a),
        Command::Calibrate(a) => model_commands::calibrate(&a),
        Command::Eval(a) => model_commands::eval(&a),
        Command::Prepare(a) => data_commands::prepare(&a),
        Command::Generate(GenerateCommand::Ahmed(a)) => data_commands::generate_ahmed(&a),
        Command::Parity(a) => model_commands::parity(&a),
        Command::Dataset(DatasetCommand::Info(a)) => data_commands::dataset_info(&a),
    }
}
