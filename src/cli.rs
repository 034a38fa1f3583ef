//! Command-line interface: parses arguments and dispatches to the library. No logic lives here.

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

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use clap::{Args, Parser, Subcommand};

use slipstream::bench;
use slipstream::bench::model::{ModelBench, StreamBench};
use slipstream::geometry;
use slipstream::inspect;
use slipstream::mesh::{self, vtk_xml, Document, Format};
use slipstream::model::device::{dispatch, DeviceChoice};
use slipstream::model::parity::ParityJob;
use slipstream::model::precision::Precision;
use slipstream::model::{AbUptConfig, ModelError};
use slipstream::openfoam::case::WallFunction;

/// Neural CFD surrogate for automotive aerodynamics: drag, lift and flow fields of a car in seconds.
///
/// Reads CAD (STL, OBJ) and CFD results (VTK XML .vtp/.vtu, legacy .vtk, HDF5) and writes what
/// ParaView opens. Run `slipstream <command> --help` for each command.
#[derive(Debug, Parser)]
#[command(name = "slipstream", version, about, long_about = None, propagate_version = true)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Show what a mesh or data file holds: points, cells by type, arrays with ranges, bounds, area.
    ///
    /// Exit status: 0 on success, 2 when the file cannot be read (the message names the problem).
    Info(InfoArgs),
    /// Convert between formats: any readable mesh to .vtp, .vtu, .stl or .h5, arrays preserved.
    Convert(ConvertArgs),
    /// Sample points on and around a body, as the model sees it, and write them for ParaView.
    ///
    /// Surface points are area-weighted with outward normals; volume points lie outside the body
    /// (inside/outside by the winding number, so open CAD works) in a wind-tunnel-like box, denser
    /// near the wall. Example: slipstream sample geometry/ahmed_25deg.stl --out points.vtp
    Sample(SampleArgs),
    /// Measure reading and other speed/memory goals (prints numbers; `--json` for scripts).
    #[command(subcommand)]
    Bench(BenchCommand),
    /// Predict drag, lift and flow fields of a body (STL/OBJ, metres) with a trained checkpoint.
    ///
    /// Prints Cd, Cl, Cs, the forces in newtons, the reference values used and a timing breakdown
    /// (--json: one object). Writes into --out: surface.vtp (the input triangles with cell data
    /// pressure_pa, cp, wall_shear_pa, cf, normal), volume.vtu (points, or the cells of
    /// --volume-mesh, with pressure_pa, cp, velocity_m_s, vorticity_1_s), summary.json and
    /// surface_cp.png (side, top, front and rear views). Fields are carried from the training speed
    /// to --speed by similarity (fixed Cp, Cf, u/U∞). Refuses open surfaces and bodies whose size says
    /// millimetres. Example: slipstream predict geometry/ahmed_25deg.stl --out prediction
    Predict(PredictArgs),
    /// Train a surrogate on a prepared dataset (CPU, or a GPU with --device cuda).
    ///
    /// The configuration (TOML) names the model preset and overrides, anchors per branch, loss
    /// weights, optimiser (adamw or lion), warm-up + cosine schedule, global gradient clipping,
    /// steps and intervals; every key has a default and unknown keys are errors. RUN_DIR receives
    /// checkpoint/ (atomic; weights, optimiser state, statistics, configuration), log.jsonl,
    /// train.toml and loss.png. Interrupted? Run the same command with --resume: it continues
    /// exactly where the last checkpoint left off.
    /// Example: slipstream train --config checkpoints/ahmed-small/train.toml --data datasets/ahmed
    /// --out runs/ahmed-small
    Train(TrainArgs),
    /// Average the weights of checkpoints into a new one (weights only; it cannot be resumed).
    ///
    /// For late checkpoints of one run (same architecture and statistics): averaging smooths
    /// out where the last steps happened to leave the weights. Pick what to average on the
    /// validation split (slipstream eval --split val), never on the test split.
    /// Example: slipstream average runs/a/snap_5000 runs/a/snap_6000 --out runs/a/avg
    Average(AverageArgs),
    /// Store in a checkpoint what its predictions need to know their limits: the shapes of its
    /// training bodies with the threshold of "like them" (set on the validation bodies), and the
    /// factors that turn the spread of anchor draws into σ (fitted on the validation runs).
    ///
    /// `predict` then refuses bodies unlike the training ones (exit status 2; --allow-extrapolation
    /// predicts anyway) and gives Cd and Cl with a 1σ (cd_std, cl_std) and σ fields in its VTK
    /// files. Training stores the domain itself; run this on older or averaged checkpoints, or
    /// after the weights changed. Rewrites checkpoint.json only (atomically).
    /// Example: slipstream calibrate --checkpoint checkpoints/ahmed-small --data datasets/ahmed
    Calibrate(CalibrateArgs),
    /// Evaluate a checkpoint on a dataset split: relative L2 of every field (area-weighted on the
    /// surface), MSE, and Cd/Cl accuracy (mean relative error, MAE, max error, R², Spearman ρ),
    /// next to the mean-field and nearest-geometry baselines.
    ///
    /// Every point of each prepared run is predicted (streaming inference). Prints Markdown tables,
    /// or one JSON object with --json; --out DIR also writes report.md and report.json.
    /// Example: slipstream eval --checkpoint checkpoints/ahmed-small --data datasets/ahmed
    Eval(EvalArgs),
    /// Turn a dataset's runs into prepared HDF5 runs (one file per run; DESIGN.md "Prepared run").
    ///
    /// Layouts: `slipstream` (what `generate` writes), `drivaerml`, `ahmedml`, `windsorml`
    /// (run_<i>/ folders), `drivaernet` (DrivAerNet++ as unzipped: designs found by id below
    /// --src, its two CSV tables anywhere below it) and `shapenet-car` (training_data/param<k>/
    /// <hash>/; no wall shear or volume pressure: recorded as absent and masked). VTK XML and
    /// BINARY legacy .vtk volumes are streamed, so memory follows --volume-points, not the file
    /// size (ASCII legacy volumes are read whole). Finished runs are skipped; broken runs are
    /// reported with the
    /// reason while the rest prepare; --jobs runs several at once, --shard splits the run list
    /// across machines.
    /// Example: slipstream prepare --layout slipstream --src data/ahmed --out data/ahmed-prepared
    Prepare(PrepareArgs),
    /// Generate CFD training data with OpenFOAM (needs OpenFOAM v1912+ installed).
    #[command(subcommand)]
    Generate(GenerateCommand),
    /// Inspect prepared datasets.
    #[command(subcommand)]
    Dataset(DatasetCommand),
    /// Check the model against the AB-UPT reference: load its weights, run its inputs, compare.
    ///
    /// DIR holds NAME.json with NAME.{weights,inputs,outputs}.safetensors per case (the layout of
    /// the reference's parity export). Prints the largest relative error |Δ|/max(1,|ref|) per
    /// output; exit status 1 when any exceeds the tolerance.
    /// Example: slipstream parity ../shared/fixtures/abupt_parity
    Parity(ParityArgs),
}

/// Where the model runs.
#[derive(Debug, Args)]
pub struct DeviceArgs {
    /// cpu, cuda, cuda:N or wgpu (default: $SLIPSTREAM_DEVICE, else cpu). CUDA needs a build with
    /// `--no-default-features --features cuda` and an NVIDIA driver; wgpu a build with
    /// `--features wgpu` and a Vulkan driver.
    #[arg(long)]
    pub device: Option<String>,
    /// Matrix products: f32 (as the reference computes; on a GPU without tensor cores), tf32
    /// (GPU tensor cores, f32 inputs rounded to 11 bits), bf16 or f16 (inputs rounded, f32
    /// accumulation; f16 runs attention as a flash kernel on a GPU). The rest stays f32. On the
    /// CPU tf32 is f32, and bf16/f16 run slower, to show what they do to accuracy.
    #[arg(long, default_value = "f32")]
    pub precision: String,
}

#[derive(Debug, Args)]
pub struct PredictArgs {
    /// The body's surface: STL or OBJ in metres, closed.
    pub geometry: PathBuf,
    /// Checkpoint folder (or a training run folder holding checkpoint/). The default, the shipped
    /// checkpoint, is also found beside the binary or in the source tree it was built from, so
    /// predict works from any folder.
    #[arg(long, default_value = slipstream::checkpoint::SHIPPED)]
    pub checkpoint: PathBuf,
    /// Output folder (created; files in it are replaced only once complete).
    #[arg(long, default_value = "prediction")]
    pub out: PathBuf,
    /// Free-stream speed, m/s.
    #[arg(long, default_value_t = 40.0)]
    pub speed: f64,
    /// Air density, kg/m³.
    #[arg(long, default_value_t = 1.225)]
    pub density: f64,
    /// Reference area for the coefficients: `auto` (the frontal area along the flow axis) or m².
    #[arg(long, default_value = "auto")]
    pub area: String,
    /// Flow axis (x, y or z).
    #[arg(long, default_value = "x")]
    pub flow_axis: String,
    /// Up axis (x, y or z).
    #[arg(long, default_value = "z")]
    pub up_axis: String,
    /// Surface query points (area-weighted), besides every triangle's centroid.
    #[arg(long, default_value_t = 100_000)]
    pub surface_points: usize,
    /// Volume query points around the body (0: no volume output).
    #[arg(long, default_value_t = 100_000)]
    pub volume_points: usize,
    /// Predict the volume fields at the cell centres of this mesh instead (.vtu, .vtk, .h5).
    #[arg(long)]
    pub volume_mesh: Option<PathBuf>,
    /// Query points decoded at once.
    #[arg(long, default_value_t = 8192)]
    pub chunk: usize,
    /// Seed of the samples.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Average the predictions of N independent anchor draws: steadier fields and Cd (one
    /// draw's Cd varies by a few per cent), N times the encode and decode time. Their spread
    /// gives σ (cd_std, cl_std, *_std fields) on a calibrated checkpoint. Default: the draws
    /// the checkpoint was calibrated with (1 without a calibration; 1: fastest, no σ).
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..=64))]
    pub draws: Option<u64>,
    /// Predict a body unlike the checkpoint's training bodies anyway (refused otherwise, exit
    /// status 2); the result says "in_domain": false and carries a warning.
    #[arg(long)]
    pub allow_extrapolation: bool,
    /// Skip surface_cp.png.
    #[arg(long)]
    pub no_picture: bool,
    /// Print one JSON object (DESIGN.md "Stable interfaces").
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub device: DeviceArgs,
}

#[derive(Debug, Args)]
pub struct TrainArgs {
    /// Training configuration (TOML); see checkpoints/ahmed-small/train.toml. Optional with
    /// --resume (the run's own copy is used).
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Prepared dataset folder (written by `slipstream prepare`: <run>.h5, splits.json, stats.json).
    #[arg(long)]
    pub data: PathBuf,
    /// Run folder for checkpoints and logs.
    #[arg(long)]
    pub out: PathBuf,
    /// Continue the run in --out from its last checkpoint.
    #[arg(long)]
    pub resume: bool,
    /// Stop after this many steps of this invocation (resume later with --resume).
    #[arg(long)]
    pub stop_after: Option<u64>,
    /// Start from this checkpoint's weights and statistics (same [model] architecture) rather
    /// than from random weights, e.g. to train a shipped checkpoint further on more data. The
    /// schedule and optimiser start afresh.
    #[arg(long, value_name = "CHECKPOINT", conflicts_with = "resume")]
    pub init_from: Option<PathBuf>,
    /// Where the training runs are kept: memory, disk (each step reads only the rows it draws,
    /// for datasets larger than memory), or auto (memory when the training split's files total
    /// at most 2 GiB). Batches are identical either way, so a run may resume with another.
    #[arg(long, value_enum, default_value = "auto")]
    pub data_residence: DataResidence,
    /// Print one JSON object at the end.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub device: DeviceArgs,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum DataResidence {
    Auto,
    Memory,
    Disk,
}

#[derive(Debug, Args)]
pub struct EvalArgs {
    /// Checkpoint folder (or a training run folder holding checkpoint/).
    #[arg(long)]
    pub checkpoint: PathBuf,
    /// Prepared dataset folder (default: the one the checkpoint was trained on). Any folder of
    /// prepared runs works with --split all or --runs (no splits.json needed).
    #[arg(long)]
    pub data: Option<PathBuf>,
    /// train, val or test (from the folder's splits.json), or all: every prepared run in it.
    #[arg(long, default_value = "test")]
    pub split: String,
    /// Score these runs instead of a split: names and ranges of run numbers, comma-separated
    /// (e.g. run_3,run_7 or 10-20).
    #[arg(long, value_name = "LIST")]
    pub runs: Option<String>,
    /// Prepared dataset whose training split the baselines (mean field, nearest geometry) come
    /// from (default: the dataset the checkpoint was trained on).
    #[arg(long, value_name = "DIR")]
    pub baseline_data: Option<PathBuf>,
    /// Folder for report.md and report.json.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Query points decoded at once (memory bound; results do not depend on it).
    #[arg(long, default_value_t = 8192)]
    pub chunk: usize,
    /// Seed of the anchors drawn from each run.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Anchors per branch at inference (default: the checkpoint's training count).
    #[arg(long)]
    pub anchors: Option<usize>,
    /// Predictions from independent anchor draws averaged per run (steadier fields; costs one
    /// encode and decode each).
    #[arg(long)]
    pub draws: Option<usize>,
    /// Also write each run's truth, prediction and error as VTK point clouds
    /// (RUN_surface.vtp, RUN_volume.vtu) into this folder, for ParaView.
    #[arg(long, value_name = "DIR")]
    pub fields_out: Option<PathBuf>,
    /// Print one JSON object (DESIGN.md "Stable interfaces") instead of the tables.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub device: DeviceArgs,
}

#[derive(Debug, Args)]
pub struct CalibrateArgs {
    /// Checkpoint folder (or a training run folder holding checkpoint/); its checkpoint.json is
    /// rewritten.
    #[arg(long)]
    pub checkpoint: PathBuf,
    /// Prepared dataset (default: the one the checkpoint was trained on): its training split
    /// makes the domain, its validation split sets the threshold and fits σ.
    #[arg(long)]
    pub data: Option<PathBuf>,
    /// Anchor draws per validation prediction; predict uses as many by default.
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u64).range(2..=64))]
    pub draws: u64,
    /// Query points decoded at once (memory bound; results do not depend on it).
    #[arg(long, default_value_t = 8192)]
    pub chunk: usize,
    /// Seed of the anchors drawn from each run.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Print one JSON object.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub device: DeviceArgs,
}

#[derive(Debug, Args)]
pub struct AverageArgs {
    /// Checkpoint folders (or training run folders holding checkpoint/), at least two.
    #[arg(required = true, num_args = 2..)]
    pub checkpoints: Vec<PathBuf>,
    /// Folder for the averaged checkpoint (must not exist yet).
    #[arg(long)]
    pub out: PathBuf,
    /// Print the new checkpoint's metadata summary as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct ParityArgs {
    /// Folder of parity cases.
    pub dir: PathBuf,
    /// Largest allowed |Δ|/max(1,|ref|) per value.
    #[arg(long, default_value_t = slipstream::model::parity::TOLERANCE)]
    pub tolerance: f64,
    #[command(flatten)]
    pub device: DeviceArgs,
    /// Print one JSON array of case reports.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct PrepareArgs {
    /// Dataset layout of --src.
    #[arg(long)]
    pub layout: String,
    /// Dataset folder.
    #[arg(long)]
    pub src: PathBuf,
    /// Output folder for <run>.h5 files.
    #[arg(long)]
    pub out: PathBuf,
    /// Surface cells kept per run, chosen at random (0: all).
    #[arg(long, default_value_t = 0)]
    pub surface_points: usize,
    /// Volume cells kept per run, chosen at random (0: all).
    #[arg(long, default_value_t = 0)]
    pub volume_points: usize,
    /// Points resampled on each run's CAD surface.
    #[arg(long, default_value_t = 100_000)]
    pub geometry_points: usize,
    /// Seed of the random choices (subsets, CAD samples, the split).
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Train, validation and test fractions for splits.json (written once, then kept), a
    /// published split: abupt (DrivAerML 400/34/50 as AB-UPT), physicsnemo (DrivAerML 436/48 as
    /// PhysicsNeMo-CFD), shapenet-param0 (ShapeNet-Car, param0 = test), or a folder of lists of
    /// run names, {train,val,test}_design_ids.txt or {train,val,test}.txt (DrivAerNet++'s
    /// train_val_test_splits/; runs no list names are left out of every split).
    #[arg(long, default_value = "0.8,0.1,0.1")]
    pub split: String,
    /// Add runs prepared now that are in no split of an existing splits.json to this split
    /// (train, val or test): grows a dataset while its validation and test runs stay fixed.
    #[arg(long, value_name = "SPLIT")]
    pub new_runs_to: Option<String>,
    /// Only runs numbered in this inclusive range, e.g. 1-50 (run_<i> layouts).
    #[arg(long)]
    pub runs: Option<String>,
    /// Only shard i of n (0-based), e.g. 3/16 for one task of a 16-task cluster job array.
    #[arg(long)]
    pub shard: Option<String>,
    /// Runs prepared at once.
    #[arg(long, default_value_t = 1)]
    pub jobs: usize,
    /// Print one JSON array of run outcomes.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Subcommand)]
pub enum DatasetCommand {
    /// Summarise a prepared dataset: runs per split, points per run, units and reference values,
    /// Cd/Cl statistics, size, and broken runs with the reason (exit status 1 when any is broken).
    /// Example: slipstream dataset info datasets/ahmed
    Info(DatasetInfoArgs),
}

#[derive(Debug, Args)]
pub struct DatasetInfoArgs {
    /// Prepared dataset folder.
    pub dir: PathBuf,
    /// Print one JSON object.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Subcommand)]
pub enum GenerateCommand {
    /// A family of Ahmed bodies by Latin hypercube sampling, each meshed (snappyHexMesh) and solved
    /// (simpleFoam, k-ω SST) and written in the AhmedML layout: run_i/ahmed_i.stl,
    /// boundary_i.vtp, volume_i.vtu, force_mom_i.csv, geo_parameters_i.csv and run.json.
    ///
    /// Resumable: finished runs (with run.json) are skipped, unfinished ones restarted. Solver logs
    /// stay in run_i/case/. Example: slipstream generate ahmed --count 48 --out data/ahmed --jobs 2
    Ahmed(GenerateAhmedArgs),
}

#[derive(Debug, Args)]
pub struct GenerateAhmedArgs {
    /// Number of bodies.
    #[arg(long, required_unless_present = "reference", default_value_t = 0)]
    pub count: usize,
    /// Output folder (created; existing finished runs are kept).
    #[arg(long)]
    pub out: PathBuf,
    /// Runs at once (each uses one core).
    #[arg(long, default_value_t = 1)]
    pub jobs: usize,
    /// Approximate cells per run (sets the background mesh size; 300k ≈ 0.08 m cells).
    #[arg(long, default_value_t = 300_000)]
    pub cells: u64,
    /// Refinement levels on the body surface, MIN,MAX (each level halves the background cell).
    #[arg(long, value_delimiter = ',', num_args = 2, default_values_t = [3, 4])]
    pub body_level: Vec<u32>,
    /// Prism layers on the body (0: none).
    #[arg(long, default_value_t = 5)]
    pub layers: u32,
    /// Thickness of the first prism layer in millimetres: it sets the first cell's y+ (about 60
    /// per mm at 40 m/s, so 0.5 mm gives y+ ≈ 30).
    #[arg(long, default_value_t = 0.5)]
    pub first_layer_mm: f64,
    /// Size the layers relative to the surface cells instead (the outermost half a surface cell
    /// thick; the generator's sizing before the mesh study), ignoring --first-layer-mm.
    #[arg(long)]
    pub relative_layers: bool,
    /// Growth ratio from one prism layer to the next.
    #[arg(long, default_value_t = 1.2)]
    pub layer_expansion: f64,
    /// Wall treatment of the turbulent viscosity on the body and the ground (spalding: valid at
    /// any y+; k: the log law from the first cell's k, which under-predicted friction here).
    #[arg(long, value_enum, default_value_t = WallFunction::Spalding)]
    pub wall_function: WallFunction,
    /// Stop any one OpenFOAM tool of a run after this many minutes and report the run as failed
    /// (the other runs go on).
    #[arg(long)]
    pub time_limit_min: Option<f64>,
    /// SIMPLE iterations per run.
    #[arg(long, default_value_t = 500)]
    pub iterations: u32,
    /// Iterations at the end over which forces and fields are averaged.
    #[arg(long, default_value_t = 100)]
    pub average: u32,
    /// Free-stream speed (m/s).
    #[arg(long, default_value_t = 40.0)]
    pub speed: f64,
    /// Seed of the Latin hypercube: the same seed gives the same bodies.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Number of the first run (run_N). To grow a family, generate a second Latin hypercube
    /// with another seed numbered after the first, e.g. `--seed 1 --count 40 --first-run 49`
    /// next to 48 runs from seed 0.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u64).range(1..))]
    pub first_run: u64,
    /// Add four cylindrical stilts under each body.
    #[arg(long)]
    pub stilts: bool,
    /// Instead of sampling, run Ahmed's reference body (1.044 × 0.389 × 0.288 m) at these slant
    /// angles (degrees, comma-separated), e.g. `--reference 25,35` for the classic validation pair.
    #[arg(long, value_delimiter = ',', conflicts_with = "count")]
    pub reference: Vec<f64>,
    /// Print one JSON array of run outcomes.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct InfoArgs {
    /// File to inspect (.stl .obj .vtp .vtu .vtk .h5).
    pub file: PathBuf,
    /// Print one JSON object (stable shape, see DESIGN.md) instead of the text report.
    #[arg(long)]
    pub json: bool,
    /// Summarise a .vtp/.vtu by streaming each array once, without loading the mesh (automatic above
    /// 1 GiB); the report then omits area and volumes, which need the whole topology.
    #[arg(long)]
    pub streaming: bool,
}

#[derive(Debug, Args)]
pub struct ConvertArgs {
    /// Input file (.stl .obj .vtp .vtu .vtk .h5 in slipstream's mesh layout).
    pub input: PathBuf,
    /// Output file; its extension picks the format (.vtp surfaces, .vtu any mesh, .stl, .h5).
    pub output: PathBuf,
    /// zlib-compress VTK output (smaller, slower to write).
    #[arg(long)]
    pub compress: bool,
}

#[derive(Debug, Args)]
pub struct SampleArgs {
    /// Closed surface of the body (.stl .obj .vtp ...), in metres.
    pub geometry: PathBuf,
    /// Number of surface points.
    #[arg(long, default_value_t = 65_536)]
    pub surface: usize,
    /// Number of volume points (0 for none).
    #[arg(long, default_value_t = 65_536)]
    pub volume: usize,
    /// Output point cloud (.vtp or .vtu); point arrays kind (0 surface, 1 volume), normal,
    /// signed_distance_m.
    #[arg(long, short, default_value = "points.vtp")]
    pub out: PathBuf,
    /// Random seed: the same seed gives the same points.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Flow direction (the box extends 1 body length upstream and 3 downstream along it).
    #[arg(long, value_enum, default_value = "x")]
    pub flow_axis: Axis,
    /// Up direction (the box extends 1.5 body lengths above the ground along it).
    #[arg(long, value_enum, default_value = "z")]
    pub up_axis: Axis,
    /// Height of the ground plane along the up axis (m); default: the body's lowest point.
    #[arg(long, allow_negative_numbers = true)]
    pub ground: Option<f64>,
    /// Share of the volume points placed near the wall.
    #[arg(long, default_value_t = 0.5)]
    pub near_wall_fraction: f64,
    /// Print a JSON report.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum Axis {
    X,
    Y,
    Z,
}

impl Axis {
    fn index(self) -> usize {
        match self {
            Axis::X => 0,
            Axis::Y => 1,
            Axis::Z => 2,
        }
    }
}

#[derive(Debug, Subcommand)]
pub enum BenchCommand {
    /// Stream named arrays out of a (large) .vtp/.vtu; report MB/s and peak memory.
    ///
    /// Example: slipstream bench read volume.vtu --cell-centres --cell-array pMeanTrim --json
    Read(BenchReadArgs),
    /// Time the geometry goals: 10M surface samples from a 1M-triangle mesh, 1M winding-number
    /// queries, 1M k-NN (k = 32) queries on 10M points, frontal area at 1 mm pixels.
    Geometry(BenchGeometryArgs),
    /// Time one inference forward and one training step of a model preset on a synthetic
    /// car-sized workload (geometry on a car-sized ellipsoid, volume points around it).
    ///
    /// Example: slipstream bench model --preset drivaerml --anchors 2048 --queries 4096 --json
    Model(BenchModelArgs),
    /// Stream many query points through a model (encode once, decode in chunks) and report
    /// points per second: the full-resolution inference path.
    ///
    /// Example: slipstream bench stream --anchors 16384 --volume-points 10000000 --device cuda
    Stream(BenchStreamArgs),
}

#[derive(Debug, Args)]
pub struct BenchModelArgs {
    /// Model preset (drivaerml, small, tiny).
    #[arg(long, default_value = "drivaerml")]
    pub preset: String,
    /// Anchor points per branch.
    #[arg(long, default_value_t = 2048)]
    pub anchors: usize,
    /// Query points per branch.
    #[arg(long, default_value_t = 4096)]
    pub queries: usize,
    /// Geometry supernodes (default: --anchors).
    #[arg(long)]
    pub supernodes: Option<usize>,
    /// Geometry points pooled into the supernodes (default: 8 × supernodes).
    #[arg(long)]
    pub geometry_points: Option<usize>,
    /// Timed repetitions after one warm-up (the median is reported).
    #[arg(long, default_value_t = 3)]
    pub repeats: usize,
    /// Skip the training step.
    #[arg(long)]
    pub no_train: bool,
    #[command(flatten)]
    pub device: DeviceArgs,
    /// Print one JSON object.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct BenchStreamArgs {
    /// Model preset (drivaerml, small, tiny).
    #[arg(long, default_value = "drivaerml")]
    pub preset: String,
    /// Anchor points per branch.
    #[arg(long, default_value_t = 16_384)]
    pub anchors: usize,
    /// Geometry supernodes (default: --anchors).
    #[arg(long)]
    pub supernodes: Option<usize>,
    /// Geometry points (default: 4 × supernodes).
    #[arg(long)]
    pub geometry_points: Option<usize>,
    /// Surface query points.
    #[arg(long, default_value_t = 0)]
    pub surface_points: usize,
    /// Volume query points.
    #[arg(long, default_value_t = 1_000_000)]
    pub volume_points: usize,
    /// Query points per chunk: bounds memory, does not change the results.
    #[arg(long, default_value_t = 65_536)]
    pub chunk: usize,
    #[command(flatten)]
    pub device: DeviceArgs,
    /// Print one JSON object.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct BenchGeometryArgs {
    /// Triangles of the synthetic car-sized mesh.
    #[arg(long, default_value_t = 1_000_000)]
    pub triangles: usize,
    /// Surface samples to draw.
    #[arg(long, default_value_t = 10_000_000)]
    pub samples: usize,
    /// Winding-number and signed-distance queries.
    #[arg(long, default_value_t = 1_000_000)]
    pub queries: usize,
    /// Points in the k-d tree.
    #[arg(long, default_value_t = 10_000_000)]
    pub knn_points: usize,
    /// k-NN queries.
    #[arg(long, default_value_t = 1_000_000)]
    pub knn_queries: usize,
    /// Print one JSON object.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct BenchReadArgs {
    /// The .vtp or .vtu file to read.
    pub file: PathBuf,
    /// Extract the point coordinates.
    #[arg(long)]
    pub points: bool,
    /// Extract cell centres (mean of each cell's points).
    #[arg(long)]
    pub cell_centres: bool,
    /// Point array to extract (repeatable).
    #[arg(long = "point-array", value_name = "NAME")]
    pub point_arrays: Vec<String>,
    /// Cell array to extract (repeatable).
    #[arg(long = "cell-array", value_name = "NAME")]
    pub cell_arrays: Vec<String>,
    /// Print one JSON object.
    #[arg(long)]
    pub json: bool,
}

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

/// Maps a mesh error to "bad input" (exit 2) unless it is an operating-system failure on our side.
fn classify(e: mesh::MeshError) -> anyhow::Error {
    match &e {
        mesh::MeshError::Io { source, .. }
            if !matches!(
                source.kind(),
                std::io::ErrorKind::NotFound
                    | std::io::ErrorKind::PermissionDenied
                    | std::io::ErrorKind::IsADirectory
            ) =>
        {
            anyhow::Error::new(e)
        }
        _ => anyhow::Error::new(BadInput(anyhow::Error::new(e))),
    }
}

pub fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Info(a) => info(&a),
        Command::Convert(a) => convert(&a),
        Command::Sample(a) => sample(&a),
        Command::Bench(BenchCommand::Read(a)) => bench_read(&a),
        Command::Bench(BenchCommand::Geometry(a)) => bench_geometry(&a),
        Command::Bench(BenchCommand::Model(a)) => bench_model(&a),
        Command::Bench(BenchCommand::Stream(a)) => bench_stream(&a),
        Command::Predict(a) => predict(&a),
        Command::Train(a) => train(&a),
        Command::Average(a) => average(&a),
        Command::Calibrate(a) => calibrate(&a),
        Command::Eval(a) => eval(&a),
        Command::Prepare(a) => prepare(&a),
        Command::Generate(GenerateCommand::Ahmed(a)) => generate_ahmed(&a),
        Command::Parity(a) => parity(&a),
        Command::Dataset(DatasetCommand::Info(a)) => dataset_info(&a),
    }
}

fn info(a: &InfoArgs) -> Result<()> {
    let summary = inspect::summarize(&a.file, a.streaming).map_err(classify)?;
    if a.json {
        outln!("{}", serde_json::to_string(&summary)?)?;
    } else {
        out!("{}", summary.to_text(&a.file))?;
    }
    Ok(())
}

fn same_file(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(x), Ok(y)) => x == y,
        _ => false,
    }
}

fn convert(a: &ConvertArgs) -> Result<()> {
    if same_file(&a.input, &a.output) {
        return Err(BadInput(anyhow::anyhow!(
            "{}: input and output are the same file; choose another output name",
            a.output.display()
        ))
        .into());
    }
    let out_format = Format::from_path(&a.output).map_err(classify)?;
    let doc = mesh::read(&a.input).map_err(classify)?;
    let Document::Mesh(m) = doc else {
        return Err(BadInput(anyhow::anyhow!(
            "{}: this HDF5 file holds datasets, not a mesh; nothing to convert (see `slipstream info`)",
            a.input.display()
        ))
        .into());
    };
    let result = match (out_format, a.compress) {
        (Format::Vtp, true) => vtk_xml::write(
            &a.output,
            &m,
            vtk_xml::Kind::PolyData,
            vtk_xml::Encoding::AppendedZlib,
        ),
        (Format::Vtu, true) => vtk_xml::write(
            &a.output,
            &m,
            vtk_xml::Kind::UnstructuredGrid,
            vtk_xml::Encoding::AppendedZlib,
        ),
        _ => mesh::write_mesh(&a.output, &m),
    };
    result.map_err(|e| match e {
        mesh::MeshError::Io { ref source, .. }
            if source.kind() == std::io::ErrorKind::InvalidInput =>
        {
            BadInput(anyhow::Error::new(e)).into()
        }
        e => classify(e),
    })?;
    eprintln!(
        "wrote {} ({} points, {} cells, {} arrays)",
        a.output.display(),
        m.n_points(),
        m.n_cells(),
        m.point_data.len() + m.cell_data.len() + m.field_data.len()
    );
    Ok(())
}

fn bench_read(a: &BenchReadArgs) -> Result<()> {
    let request = vtk_xml::ExtractRequest {
        points: a.points,
        cell_centres: a.cell_centres,
        point_arrays: a.point_arrays.clone(),
        cell_arrays: a.cell_arrays.clone(),
        cell_rows: None,
    };
    let r = bench::read::run(&a.file, &request)
        .map_err(classify)
        .with_context(|| "bench read failed")?;
    if a.json {
        outln!("{}", serde_json::to_string(&r)?)?;
    } else {
        outln!(
            "{}: {:.1} MB, {} points, {} cells\n  extracted {} ({:.1} MB) in {:.3} s = {:.1} MB/s of file\n  peak RSS {} MB ({}x the extracted size)",
            r.file,
            r.file_mb,
            r.points,
            r.cells,
            r.arrays.join(", "),
            r.extracted_mb,
            r.seconds,
            r.mb_per_s,
            r.peak_rss_mb.map_or("?".into(), |p| format!("{p:.1}")),
            r.rss_over_extracted.map_or("?".into(), |p| format!("{p:.2}")),
        )?;
    }
    Ok(())
}

fn sample(a: &SampleArgs) -> Result<()> {
    if a.flow_axis.index() == a.up_axis.index() {
        return Err(BadInput(anyhow::anyhow!("--flow-axis and --up-axis must differ")).into());
    }
    let out_format = Format::from_path(&a.out).map_err(classify)?;
    if !matches!(out_format, Format::Vtp | Format::Vtu | Format::Hdf5) {
        return Err(BadInput(anyhow::anyhow!(
            "{}: write the points as .vtp, .vtu or .h5",
            a.out.display()
        ))
        .into());
    }
    let surface = mesh::read_mesh(&a.geometry).map_err(classify)?;
    let options = geometry::SampleOptions {
        surface_points: a.surface,
        volume_points: a.volume,
        seed: a.seed,
        volume: geometry::VolumeSamplingConfig {
            flow_axis: a.flow_axis.index(),
            up_axis: a.up_axis.index(),
            ground_m: a.ground,
            near_wall_fraction: a.near_wall_fraction,
            ..Default::default()
        },
    };
    let (cloud, report) = geometry::sample_cloud(&surface, &options)
        .map_err(|e| BadInput(anyhow::anyhow!("{}: {e}", a.geometry.display())))?;
    mesh::write_mesh(&a.out, &cloud).map_err(classify)?;
    if a.json {
        outln!("{}", serde_json::to_string(&report)?)?;
    } else {
        eprintln!(
            "wrote {}: {} surface + {} volume points from {} triangles{}",
            a.out.display(),
            report.surface_points,
            report.volume_points,
            report.triangles,
            if report.reoriented {
                " (the surface was wound inward; normals turned outward)"
            } else {
                ""
            }
        );
    }
    Ok(())
}

fn bench_geometry(a: &BenchGeometryArgs) -> Result<()> {
    let config = bench::geometry::GeometryBenchConfig {
        triangles: a.triangles,
        surface_samples: a.samples,
        winding_queries: a.queries,
        knn_points: a.knn_points,
        knn_queries: a.knn_queries,
        ..Default::default()
    };
    eprintln!(
        "geometry benchmark on {} threads",
        rayon::current_num_threads()
    );
    let r = bench::geometry::run(&config);
    if a.json {
        outln!("{}", serde_json::to_string(&r)?)?;
    }
    Ok(())
}

fn resolve_device(a: &DeviceArgs) -> Result<(DeviceChoice, Precision)> {
    slipstream::model::cpu_isa::check_env().map_err(|e| BadInput(anyhow::anyhow!(e)))?;
    let device = DeviceChoice::resolve(a.device.as_deref()).map_err(|e| BadInput(e.into()))?;
    let precision: Precision = a
        .precision
        .parse()
        .map_err(|e: ModelError| BadInput(e.into()))?;
    Ok((device, precision))
}

fn model_error(e: ModelError) -> anyhow::Error {
    match e {
        ModelError::Write(_) => anyhow::Error::new(e),
        ModelError::File { .. }
        | ModelError::Config(_)
        | ModelError::Device(_)
        | ModelError::Input(_)
        | ModelError::Weights(_)
        | ModelError::Job(_) => anyhow::Error::new(BadInput(anyhow::Error::new(e))),
    }
}

fn average(a: &AverageArgs) -> Result<()> {
    if a.out.exists() {
        return Err(BadInput(anyhow::anyhow!(
            "{}: already exists; averaging writes a new checkpoint folder, choose another --out",
            a.out.display()
        ))
        .into());
    }
    let meta = slipstream::checkpoint::average::<slipstream::model::Cpu>(
        &a.checkpoints,
        &a.out,
        &Default::default(),
    )
    .map_err(|e| BadInput(anyhow::Error::new(e)))?;
    if a.json {
        outln!(
            "{}",
            serde_json::json!({
                "out": a.out.display().to_string(),
                "averaged_from": meta.averaged_from,
                "step": meta.step,
            })
        )?;
    } else {
        eprintln!(
            "{}: the mean of {} checkpoints' weights (weights only)",
            a.out.display(),
            meta.averaged_from.len()
        );
    }
    Ok(())
}

fn train(a: &TrainArgs) -> Result<()> {
    use slipstream::train::{Residence, TrainConfig, TrainJob};
    let bad = |e: anyhow::Error| anyhow::Error::new(BadInput(e));
    let config_path = match (&a.config, a.resume) {
        (Some(p), _) => p.clone(),
        (None, true) => a.out.join("train.toml"),
        (None, false) => {
            return Err(bad(anyhow::anyhow!(
                "--config FILE is required for a new run (only --resume may leave it out)"
            )))
        }
    };
    let text = std::fs::read_to_string(&config_path)
        .with_context(|| format!("{}", config_path.display()))
        .map_err(bad)?;
    let config = TrainConfig::from_toml(&text)
        .map_err(|e| bad(anyhow::anyhow!("{}: {e}", config_path.display())))?;
    let (device, precision) = resolve_device(&a.device)?;
    let job = TrainJob {
        config,
        data: a.data.clone(),
        out: a.out.clone(),
        resume: a.resume,
        stop_after: a.stop_after,
        residence: match a.data_residence {
            DataResidence::Auto => Residence::Auto,
            DataResidence::Memory => Residence::Memory,
            DataResidence::Disk => Residence::Disk,
        },
        init_from: a.init_from.clone(),
        progress: true,
    };
    let report = dispatch(device, precision, job).map_err(model_error)?;
    if a.json {
        outln!("{}", serde_json::to_string(&report)?)?;
    } else {
        outln!(
            "trained {} of {} steps ({} parameters) in {:.0} s ({:.2} s/step); last training loss {}, \
             validation loss {}\ncheckpoint: {}\nlog: {}{}",
            report.steps_done,
            report.steps,
            report.params,
            report.seconds,
            report.seconds_per_step,
            report.train_loss.map_or("n/a".into(), |l| format!("{l:.4}")),
            report.val_loss.map_or("n/a".into(), |l| format!("{l:.4}")),
            report.checkpoint,
            report.log,
            report
                .loss_curve
                .as_ref()
                .map_or(String::new(), |p| format!("\nloss curve: {p}"))
        )?;
    }
    Ok(())
}

fn predict(a: &PredictArgs) -> Result<()> {
    use slipstream::predict::{AreaChoice, PredictJob};
    let area = match a.area.trim() {
        "auto" => AreaChoice::Auto,
        v => AreaChoice::Value(v.parse().map_err(|_| {
            BadInput(anyhow::anyhow!(
                "--area `{v}`: use `auto` or a number in m²"
            ))
        })?),
    };
    let (device, precision) = resolve_device(&a.device)?;
    use slipstream::checkpoint::{find_shipped, SHIPPED};
    let checkpoint = match a.checkpoint == Path::new(SHIPPED) && !a.checkpoint.exists() {
        true => find_shipped().unwrap_or_else(|| a.checkpoint.clone()),
        false => a.checkpoint.clone(),
    };
    let job = PredictJob {
        geometry: a.geometry.clone(),
        checkpoint,
        out: a.out.clone(),
        speed_m_s: a.speed,
        density_kg_m3: a.density,
        area,
        flow_axis: a.flow_axis.clone(),
        up_axis: a.up_axis.clone(),
        surface_points: a.surface_points,
        volume_points: a.volume_points,
        volume_mesh: a.volume_mesh.clone(),
        chunk: a.chunk.max(1),
        seed: a.seed,
        draws: a.draws.map(|d| d as usize),
        allow_extrapolation: a.allow_extrapolation,
        picture: !a.no_picture,
    };
    let r = dispatch(device, precision, job).map_err(model_error)?;
    for w in &r.warnings {
        eprintln!("warning: {w}");
    }
    if a.json {
        outln!("{}", serde_json::to_string(&r)?)?;
        return Ok(());
    }
    let t = &r.timings_s;
    let pm = |sigma: Option<f64>| sigma.map_or(String::new(), |s| format!(" ± {s:.4}"));
    let domain = match (r.in_domain, r.domain_score, r.domain_threshold) {
        (Some(inside), Some(score), Some(limit)) => format!(
            "{} (score {score:.2}, accepted up to {limit:.2}; nearest training body {})",
            if inside {
                "like the training bodies"
            } else {
                "OUTSIDE the training bodies: extrapolation"
            },
            r.nearest_training_run.as_deref().unwrap_or("?")
        ),
        _ => "not checked (the checkpoint records no shape domain)".to_string(),
    };
    outln!(
        "{}\n  Cd {:.4}{}   Cl {:.4}{}   Cs {:.4}{}\n  domain      {domain}\n  force [N]   drag {:.2}   lift {:.2}   side {:.2}   (x {:.2}, y {:.2}, z {:.2})\n  \
         reference   U {} m/s, rho {} kg/m3, A {:.5} m2, L {:.4} m\n  \
         points      {} surface ({} triangles), {} volume\n  \
         time [s]    load {:.2}, sample {:.2}, encode {:.2}, decode {:.2}, export {:.2}, total {:.2}\n  \
         wrote       {}",
        a.geometry.display(),
        r.cd,
        pm(r.cd_std),
        r.cl,
        pm(r.cl_std),
        r.cs,
        if r.cd_std.is_some() { "   (± 1σ)" } else { "" },
        r.cd * 0.5 * a.density * a.speed * a.speed * r.reference.area_m2,
        r.cl * 0.5 * a.density * a.speed * a.speed * r.reference.area_m2,
        r.cs * 0.5 * a.density * a.speed * a.speed * r.reference.area_m2,
        r.force_n[0],
        r.force_n[1],
        r.force_n[2],
        r.reference.speed_m_s,
        r.reference.density_kg_m3,
        r.reference.area_m2,
        r.reference.length_m,
        r.surface_points,
        r.triangles,
        r.volume_points,
        t.load,
        t.sample,
        t.encode,
        t.decode,
        t.export,
        t.total,
        [&r.outputs.surface, &r.outputs.volume, &r.outputs.summary, &r.outputs.picture]
            .iter()
            .filter_map(|p| p.as_deref())
            .collect::<Vec<_>>()
            .join(", ")
    )?;
    Ok(())
}

fn dataset_info(a: &DatasetInfoArgs) -> Result<()> {
    let info = slipstream::data::info::dataset_info(&a.dir)
        .map_err(|e| BadInput(anyhow::Error::new(e)))?;
    if a.json {
        outln!("{}", serde_json::to_string(&info)?)?;
    } else {
        out!("{info}")?;
    }
    if !info.broken.is_empty() {
        bail!("{} broken runs", info.broken.len());
    }
    Ok(())
}

fn calibrate(a: &CalibrateArgs) -> Result<()> {
    use slipstream::eval::calibrate::CalibrateJob;
    let (device, precision) = resolve_device(&a.device)?;
    let job = CalibrateJob {
        checkpoint: a.checkpoint.clone(),
        data: a.data.clone(),
        draws: a.draws as usize,
        chunk: a.chunk.max(1),
        seed: a.seed,
        progress: !a.json,
    };
    let r = dispatch(device, precision, job).map_err(model_error)?;
    if a.json {
        outln!("{}", serde_json::to_string(&r)?)?;
        return Ok(());
    }
    let u = &r.uncertainty;
    outln!(
        "{}: calibrated on {} ({} training, {} validation runs)",
        r.checkpoint,
        r.data,
        r.training_runs,
        r.validation_runs
    )?;
    let farthest = r
        .validation_scores
        .iter()
        .max_by(|a, b| a.1.total_cmp(&b.1));
    outln!(
        "  shape domain: bodies up to domain_score {:.2} accepted (farthest validation body: {})",
        r.domain_threshold,
        farthest.map_or("none".to_string(), |(run, s)| format!("{run}, {s:.2}"))
    )?;
    outln!(
        "  sigma = factor x spread of {} draws: Cd {:.2}, Cl {:.2}",
        u.draws,
        u.cd,
        u.cl
    )?;
    for (field, f) in &u.fields {
        outln!("    {field:<20} {f:.2}")?;
    }
    Ok(())
}

fn eval(a: &EvalArgs) -> Result<()> {
    use slipstream::data::dataset::RunSet;
    use slipstream::eval::EvalJob;
    let runs =
        RunSet::parse(&a.split, a.runs.as_deref()).map_err(|e| BadInput(anyhow::anyhow!(e)))?;
    let (device, precision) = resolve_device(&a.device)?;
    let job = EvalJob {
        checkpoint: a.checkpoint.clone(),
        data: a.data.clone(),
        runs,
        baseline_data: a.baseline_data.clone(),
        chunk: a.chunk.max(1),
        seed: a.seed,
        anchors: a.anchors,
        draws: a.draws.unwrap_or(1),
        fields_out: a.fields_out.clone(),
        progress: true,
    };
    let report = dispatch(device, precision, job).map_err(model_error)?;
    if let Some(dir) = &a.out {
        report.write(dir).map_err(|e| anyhow::anyhow!(e))?;
    }
    if a.json {
        outln!("{}", serde_json::to_string(&report)?)?;
    } else {
        out!("{}", report.markdown())?;
    }
    Ok(())
}

fn parity(a: &ParityArgs) -> Result<()> {
    let (device, precision) = resolve_device(&a.device)?;
    let job = ParityJob {
        dir: a.dir.clone(),
        tolerance: a.tolerance,
    };
    let reports = dispatch(device, precision, job).map_err(model_error)?;
    if a.json {
        outln!("{}", serde_json::to_string(&reports)?)?;
    } else {
        for r in &reports {
            outln!(
                "case {} ({}; {} parameters, reference {}; {:.2} s)",
                r.case,
                r.backend,
                r.parameters,
                r.parameters_reference,
                r.seconds
            )?;
            for o in &r.outputs {
                outln!(
                    "  {:<46} {:>6} values  max rel {:.2e}  max abs {:.2e}  {}",
                    o.name,
                    o.values,
                    o.max_rel_error,
                    o.max_abs_error,
                    if o.passed { "ok" } else { "FAIL" }
                )?;
            }
            if r.parameters_reference != 0 && r.parameters != r.parameters_reference {
                outln!("  parameter count differs from the reference: FAIL")?;
            }
        }
    }
    let failed: Vec<&str> = reports
        .iter()
        .filter(|r| !r.passed)
        .map(|r| r.case.as_str())
        .collect();
    if !failed.is_empty() {
        bail!(
            "parity failed for {} (tolerance {:.0e})",
            failed.join(", "),
            a.tolerance
        );
    }
    if !a.json {
        outln!(
            "parity: {} case(s) within {:.0e}",
            reports.len(),
            a.tolerance
        )?;
    }
    Ok(())
}

fn preset(name: &str) -> Result<AbUptConfig> {
    AbUptConfig::preset(name).map_err(|e| BadInput(e.into()).into())
}

fn bench_model(a: &BenchModelArgs) -> Result<()> {
    let (device, precision) = resolve_device(&a.device)?;
    let supernodes = a.supernodes.unwrap_or(a.anchors);
    let job = ModelBench {
        preset: a.preset.clone(),
        config: preset(&a.preset)?,
        anchors: a.anchors,
        queries: a.queries,
        supernodes,
        geometry_points: a.geometry_points.unwrap_or(8 * supernodes),
        repeats: a.repeats,
        train: !a.no_train,
    };
    let r = dispatch(device, precision, job).map_err(model_error)?;
    if a.json {
        outln!("{}", serde_json::to_string(&r)?)?;
        return Ok(());
    }
    outln!(
        "preset {} ({} parameters) on {}",
        r.preset,
        r.params,
        r.backend
    )?;
    outln!("cpu: {} ({})", r.cpu, r.cpu_features.join(" "))?;
    if let Some(k) = &r.kernels {
        outln!(
            "kernels: matmul {}, attention {}, gelu {}",
            k.matmul,
            k.attention,
            k.gelu
        )?;
    }
    outln!(
        "workload: {} geometry points, {} supernodes, {} anchors and {} queries per branch",
        r.geometry_points,
        r.supernodes,
        r.anchors,
        r.queries
    )?;
    outln!(
        "inference forward  {:>8.3} s  (encode {:.3} s, decode {:.3} s, {:.0} query points/s)",
        r.infer_s,
        r.encode_s,
        r.decode_s,
        r.query_points_per_s
    )?;
    if let Some(t) = r.train_step_s {
        outln!("training step      {t:>8.3} s  (forward + backward + AdamW)")?;
    }
    if let Some(m) = r.peak_rss_mb {
        outln!("peak RSS           {m:>8.0} MB")?;
    }
    Ok(())
}

fn bench_stream(a: &BenchStreamArgs) -> Result<()> {
    let (device, precision) = resolve_device(&a.device)?;
    let supernodes = a.supernodes.unwrap_or(a.anchors);
    let job = StreamBench {
        preset: a.preset.clone(),
        config: preset(&a.preset)?,
        anchors: a.anchors,
        supernodes,
        geometry_points: a.geometry_points.unwrap_or(4 * supernodes),
        surface_points: a.surface_points,
        volume_points: a.volume_points,
        chunk: a.chunk,
        progress: !a.json,
    };
    let r = dispatch(device, precision, job).map_err(model_error)?;
    if a.json {
        outln!("{}", serde_json::to_string(&r)?)?;
        return Ok(());
    }
    outln!(
        "preset {} on {}, {} anchors per branch, chunk {}",
        r.preset,
        r.backend,
        r.anchors,
        r.chunk
    )?;
    outln!("encode             {:>8.3} s", r.encode_s)?;
    for (name, part) in [("surface", &r.surface), ("volume", &r.volume)] {
        outln!(
            "{name:<8} {:>11} points {:>8.3} s  {:>12.0} points/s",
            part.points,
            part.seconds,
            part.points_per_s
        )?;
    }
    outln!("total              {:>8.3} s", r.total_s)?;
    Ok(())
}

fn generate_ahmed(a: &GenerateAhmedArgs) -> Result<()> {
    use slipstream::openfoam::case::CaseSettings;
    use slipstream::openfoam::generate::{generate, GenerateConfig, GenerateError, RunOutcome};
    if (a.count == 0 && a.reference.is_empty()) || a.cells == 0 || a.iterations == 0 {
        return Err(BadInput(anyhow::anyhow!(
            "--count (or --reference), --cells and --iterations must be positive"
        ))
        .into());
    }
    let tool_time_limit = match a.time_limit_min {
        None => None,
        Some(m) => Some(
            std::time::Duration::try_from_secs_f64(60.0 * m)
                .ok()
                .filter(|d| !d.is_zero())
                .ok_or_else(|| BadInput(anyhow::anyhow!("--time-limit-min must be positive")))?,
        ),
    };
    let bodies = (!a.reference.is_empty()).then(|| {
        a.reference
            .iter()
            .map(|&angle| slipstream::openfoam::ahmed::AhmedParams {
                stilts: a.stilts,
                ..slipstream::openfoam::ahmed::AhmedParams::reference(angle)
            })
            .collect::<Vec<_>>()
    });
    let settings = CaseSettings {
        speed_m_s: a.speed,
        iterations: a.iterations,
        average_last: a.average.min(a.iterations),
        base_cell_m: 0.08 * (300_000.0 / a.cells as f64).powf(0.4),
        body_levels: (a.body_level[0], a.body_level[1]),
        layers: a.layers,
        first_layer_m: (!a.relative_layers).then_some(a.first_layer_mm * 1e-3),
        layer_expansion: a.layer_expansion,
        wall_function: a.wall_function,
        ..CaseSettings::default()
    };
    let config = GenerateConfig {
        count: a.count,
        out: a.out.clone(),
        jobs: a.jobs,
        seed: a.seed,
        first_run: a.first_run as usize,
        stilts: a.stilts,
        settings,
        density_kg_m3: 1.2,
        bodies,
        tool_time_limit,
    };
    let outcomes = generate(&config, |o| match o {
        RunOutcome::Done {
            run,
            cd,
            converged,
            wall_time_s,
        } => eprintln!(
            "run_{run}: Cd {cd:.4}{} in {wall_time_s:.0} s",
            if *converged { "" } else { " (NOT converged)" }
        ),
        RunOutcome::Skipped { run } => eprintln!("run_{run}: already finished, skipped"),
        RunOutcome::Failed { run, reason } => eprintln!("run_{run}: FAILED: {reason}"),
    })
    .map_err(|e| match e {
        GenerateError::Missing(_) | GenerateError::Settings(_) => {
            anyhow::Error::new(BadInput(e.into()))
        }
        other => other.into(),
    })?;
    if a.json {
        outln!("{}", serde_json::to_string(&outcomes)?)?;
    }
    let failed = outcomes
        .iter()
        .filter(|o| matches!(o, RunOutcome::Failed { .. }))
        .count();
    eprintln!(
        "{} runs: {} failed; results in {}",
        outcomes.len(),
        failed,
        a.out.display()
    );
    if failed > 0 {
        bail!(
            "{failed} of {} runs failed (see run_i/FAILED and the logs in run_i/case/)",
            outcomes.len()
        );
    }
    Ok(())
}

fn prepare(a: &PrepareArgs) -> Result<()> {
    use slipstream::data::prepare::{
        layout_names, prepare_dataset, write_splits_and_stats_adding, PrepareOptions,
        PrepareOutcome, RunSelection, SplitRule,
    };
    if !layout_names().contains(&a.layout.as_str()) {
        return Err(BadInput(anyhow::anyhow!(
            "unknown layout `{}`; supported: {}",
            a.layout,
            layout_names().join(", ")
        ))
        .into());
    }
    let split = SplitRule::parse(&a.split).map_err(|e| BadInput(anyhow::anyhow!(e)))?;
    let new_runs_to = a
        .new_runs_to
        .as_deref()
        .map(slipstream::data::Split::parse)
        .transpose()
        .map_err(|e| BadInput(anyhow::anyhow!(e)))?;
    let selection = RunSelection::parse(a.runs.as_deref(), a.shard.as_deref())
        .map_err(|e| BadInput(anyhow::anyhow!(e)))?;
    let opts = PrepareOptions {
        surface_points: a.surface_points,
        volume_points: a.volume_points,
        geometry_points: a.geometry_points,
        seed: a.seed,
    };
    let outcomes = prepare_dataset(
        &a.layout,
        &a.src,
        &a.out,
        &opts,
        &selection,
        a.jobs,
        |o| match o {
            PrepareOutcome::Prepared {
                run,
                surface,
                volume,
            } => {
                eprintln!("{run}: {surface} surface and {volume} volume points")
            }
            PrepareOutcome::Skipped { run } => eprintln!("{run}: already prepared, skipped"),
            PrepareOutcome::Broken { run, reason } => eprintln!("{run}: BROKEN: {reason}"),
        },
    )
    .map_err(|e| BadInput(anyhow::anyhow!(e)))?;
    if a.json {
        outln!("{}", serde_json::to_string(&outcomes)?)?;
    }
    let ready: Vec<String> = outcomes
        .iter()
        .filter_map(|o| match o {
            PrepareOutcome::Prepared { run, .. } | PrepareOutcome::Skipped { run } => {
                Some(run.clone())
            }
            PrepareOutcome::Broken { .. } => None,
        })
        .collect();
    if selection.shard.is_some() {
        eprintln!(
            "shard done; once every shard has finished, run the same command without --shard to \
             write splits.json and stats.json (finished runs are skipped)"
        );
    } else if !ready.is_empty() {
        let (splits, _) =
            write_splits_and_stats_adding(&a.out, &ready, &split, a.seed, new_runs_to)
                .map_err(|e| anyhow::anyhow!(e))?;
        eprintln!(
            "splits.json: {} train, {} val, {} test; stats.json from the training runs",
            splits.train.len(),
            splits.val.len(),
            splits.test.len()
        );
        let unsplit = ready
            .iter()
            .filter(|r| {
                ![&splits.train, &splits.val, &splits.test]
                    .iter()
                    .any(|s| s.contains(r))
            })
            .count();
        if unsplit > 0 {
            eprintln!("{unsplit} prepared runs are in no split list and take part in none");
        }
    }
    let broken = outcomes
        .iter()
        .filter(|o| matches!(o, PrepareOutcome::Broken { .. }))
        .count();
    if broken > 0 {
        bail!(
            "{broken} of {} runs are broken (reasons above)",
            outcomes.len()
        );
    }
    Ok(())
}
