//! The command line's grammar: every command, its arguments and their `--help` text.

use std::path::PathBuf;

use clap::builder::{PossibleValuesParser, TypedValueParser};
use clap::{Args, Parser, Subcommand};

use slipstream::openfoam::case::WallFunction;
use slipstream::physics::Axes;
use slipstream::train::Residence;

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
    /// CPU tf32 is f32; bf16 runs on AMX tiles where the CPU has them (Intel Xeon since Sapphire
    /// Rapids), else rounds and computes at f32 speed; f16 runs slower, to show what it does to
    /// accuracy.
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
    #[arg(long, default_value = "x", value_parser = Axes::axis)]
    pub flow_axis: usize,
    /// Up axis (x, y or z).
    #[arg(long, default_value = "z", value_parser = Axes::axis)]
    pub up_axis: usize,
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
    #[arg(
        long,
        default_value = "auto",
        value_parser = PossibleValuesParser::new(Residence::NAMES).try_map(|s| s.parse::<Residence>())
    )]
    pub data_residence: Residence,
    /// Print one JSON object at the end.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub device: DeviceArgs,
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
    /// Solve these runs of the family again (numbers, comma-separated) even though they
    /// finished, with this invocation's settings, e.g. `--redo 34 --iterations 1000` for a run
    /// still converging at 500 iterations. Their earlier outputs move to run_N/previous/; no
    /// other run is touched. Give the family's --count and --seed, so the bodies are the same.
    #[arg(long, value_delimiter = ',')]
    pub redo: Vec<u64>,
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
    /// Flow direction, x, y or z (the box extends 1 body length upstream and 3 downstream along
    /// it).
    #[arg(long, default_value = "x", value_parser = Axes::axis)]
    pub flow_axis: usize,
    /// Up direction, x, y or z (the box extends 1.5 body lengths above the ground along it).
    #[arg(long, default_value = "z", value_parser = Axes::axis)]
    pub up_axis: usize,
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
