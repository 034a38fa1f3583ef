//! The dataset layouts `prepare` reads, one file each, and their registry: `slipstream` (what
//! `slipstream generate` writes), the declared layouts of `described` (DrivAerML, AhmedML,
//! WindsorML), DrivAerNet++ (`drivaernet`) and ShapeNet-Car (`shapenet`). A layout finds a
//! dataset's runs and prepares one of them; it builds on the blocks of `data::reading`, and the
//! driver (`data::prepare`) sees only this registry.

pub mod described;
pub mod drivaernet;
pub mod shapenet;
pub mod slipstream;

use std::path::Path;

use crate::data::reading::PrepareOptions;
use crate::data::DataError;

pub use described::Described;

/// A way a dataset stores its runs.
pub trait Layout: Sync {
    /// The name `prepare --layout` takes.
    fn name(&self) -> &'static str;

    /// True when the runs are `run_<i>` folders that `--runs A-B` selects by number; false when
    /// they are named (design ids, car hashes).
    fn numbered(&self) -> bool {
        true
    }

    /// The dataset in the folder `src`: its runs found, its dataset-wide tables read.
    fn open(&self, src: &Path) -> Result<Box<dyn RawDataset>, DataError>;
}

/// A dataset opened through its layout.
pub trait RawDataset: Sync {
    /// The runs' names, in the order they are prepared and reported.
    fn runs(&self) -> Vec<String>;

    /// Prepares run `index` (of [`RawDataset::runs`]) into the file `out`, written whole or not
    /// at all; returns the surface and volume points kept.
    fn prepare(
        &self,
        index: usize,
        out: &Path,
        opts: &PrepareOptions,
    ) -> Result<(usize, usize), DataError>;
}

/// Every layout, in the order `--help` lists them.
pub const ALL: [&dyn Layout; 6] = [
    &slipstream::Slipstream,
    &described::DRIVAERML,
    &described::AHMEDML,
    &described::WINDSORML,
    &drivaernet::DrivAerNet,
    &shapenet::ShapeNetCar,
];

/// The layout called `name`.
pub fn find(name: &str) -> Option<&'static dyn Layout> {
    ALL.iter().copied().find(|l| l.name() == name)
}

/// The names of every layout.
pub fn names() -> Vec<&'static str> {
    ALL.iter().map(|l| l.name()).collect()
}

/// A dataset's runs, each with its name and what a layout needs to find its files (a folder, a
/// DrivAerNet++ design's files), and how one run is prepared from that: every layout's
/// [`RawDataset`].
struct Runs<T, F> {
    runs: Vec<(String, T)>,
    prepare: F,
}

impl<T, F> RawDataset for Runs<T, F>
where
    T: Sync,
    F: Fn(&T, &str, &Path, &PrepareOptions) -> Result<(usize, usize), DataError> + Sync,
{
    fn runs(&self) -> Vec<String> {
        self.runs.iter().map(|(name, _)| name.clone()).collect()
    }

    fn prepare(
        &self,
        index: usize,
        out: &Path,
        opts: &PrepareOptions,
    ) -> Result<(usize, usize), DataError> {
        let (name, source) = &self.runs[index];
        (self.prepare)(source, name, out, opts)
    }
}
