//! Training batches: random anchors of a prepared run with standardised targets, drawn
//! reproducibly from (seed, step) so that a resumed run sees exactly the batches an uninterrupted
//! one would; a background thread prepares the next batches while the model trains.

use super::schema;
use std::sync::mpsc::{sync_channel, Receiver, RecvTimeoutError, TryRecvError};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use std::borrow::Cow;

use super::reading::pick;
use super::run::{read_meta, PreparedRun, RunMeta};
use super::stats::{signed_log1p, DatasetStats};
use super::DataError;
use crate::geometry::sampling::choose_subset;
use crate::mesh::hdf5;
use crate::rng::Rng;

/// Surface targets per point: `[p, τx, τy, τz]`.
pub const SURFACE_CHANNELS: usize = 4;
/// Volume targets per point: `[p, ux, uy, uz, ωx, ωy, ωz]` (ω through sign·log1p).
pub const VOLUME_CHANNELS: usize = 7;

/// How many points a batch takes from a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BatchSpec {
    pub surface_anchors: usize,
    pub volume_anchors: usize,
    /// Points of the resampled CAD surface fed to the geometry encoder.
    pub geometry_points: usize,
    /// Of those, the supernodes that pool their neighbourhoods.
    pub supernodes: usize,
}

impl Default for BatchSpec {
    fn default() -> Self {
        BatchSpec {
            surface_anchors: 1024,
            volume_anchors: 1024,
            geometry_points: 8192,
            supernodes: 1024,
        }
    }
}

/// Turns physical fields into the standardised channels the model trains on, and back.
#[derive(Debug, Clone, PartialEq)]
pub struct Normalizer {
    surface_mean: [f32; SURFACE_CHANNELS],
    surface_std: [f32; SURFACE_CHANNELS],
    volume_mean: [f32; VOLUME_CHANNELS],
    volume_std: [f32; VOLUME_CHANNELS],
}

fn channels<const N: usize>(parts: &[&[f64]]) -> [f32; N] {
    let flat: Vec<f32> = parts
        .iter()
        .flat_map(|p| p.iter())
        .map(|v| *v as f32)
        .collect();
    std::array::from_fn(|i| flat.get(i).copied().unwrap_or(0.0))
}

fn safe_std<const N: usize>(s: [f32; N]) -> [f32; N] {
    s.map(|v| if v.is_finite() && v > 1e-12 { v } else { 1.0 })
}

impl Normalizer {
    pub fn new(stats: &DatasetStats) -> Self {
        Normalizer {
            surface_mean: channels(&[&stats.surface_pressure.mean, &stats.surface_wall_shear.mean]),
            surface_std: safe_std(channels(&[
                &stats.surface_pressure.std,
                &stats.surface_wall_shear.std,
            ])),
            volume_mean: channels(&[
                &stats.volume_pressure.mean,
                &stats.volume_velocity.mean,
                &stats.volume_vorticity.mean,
            ]),
            volume_std: safe_std(channels(&[
                &stats.volume_pressure.std,
                &stats.volume_velocity.std,
                &stats.volume_vorticity.std,
            ])),
        }
    }

    /// Standardised surface channels `[N·4]` of physical fields.
    pub fn standardise_surface(&self, pressure: &[f32], shear: &[f32]) -> Vec<f32> {
        let mut out = Vec::with_capacity(pressure.len() * SURFACE_CHANNELS);
        for (p, t) in pressure.iter().zip(shear.chunks_exact(3)) {
            let raw = [*p, t[0], t[1], t[2]];
            out.extend(
                (0..SURFACE_CHANNELS)
                    .map(|c| (raw[c] - self.surface_mean[c]) / self.surface_std[c]),
            );
        }
        out
    }

    /// Standardised volume channels `[N·7]` of physical fields.
    pub fn standardise_volume(&self, fields: &VolumeFields) -> Vec<f32> {
        let n = fields.pressure.len();
        let mut out = Vec::with_capacity(n * VOLUME_CHANNELS);
        for r in 0..n {
            let w = |k: usize| signed_log1p(fields.vorticity[3 * r + k] as f64) as f32;
            let raw = [
                fields.pressure[r],
                fields.velocity[3 * r],
                fields.velocity[3 * r + 1],
                fields.velocity[3 * r + 2],
                w(0),
                w(1),
                w(2),
            ];
            out.extend(
                (0..VOLUME_CHANNELS).map(|c| (raw[c] - self.volume_mean[c]) / self.volume_std[c]),
            );
        }
        out
    }

    /// Physical surface fields from standardised channels `[N·4]`: (pressure `[N]`, shear `[N·3]`).
    pub fn surface_fields(&self, channels: &[f32]) -> (Vec<f32>, Vec<f32>) {
        let n = channels.len() / SURFACE_CHANNELS;
        let mut pressure = Vec::with_capacity(n);
        let mut shear = Vec::with_capacity(3 * n);
        for row in channels.chunks_exact(SURFACE_CHANNELS) {
            let v: [f32; SURFACE_CHANNELS] =
                std::array::from_fn(|c| row[c] * self.surface_std[c] + self.surface_mean[c]);
            pressure.push(v[0]);
            shear.extend_from_slice(&v[1..]);
        }
        (pressure, shear)
    }

    /// Physical volume fields from standardised channels `[N·7]`: (pressure, velocity,
    /// vorticity), with the sign·log1p of vorticity undone.
    pub fn volume_fields(&self, channels: &[f32]) -> VolumeFields {
        let n = channels.len() / VOLUME_CHANNELS;
        let mut f = VolumeFields {
            pressure: Vec::with_capacity(n),
            velocity: Vec::with_capacity(3 * n),
            vorticity: Vec::with_capacity(3 * n),
        };
        for row in channels.chunks_exact(VOLUME_CHANNELS) {
            let v: [f32; VOLUME_CHANNELS] =
                std::array::from_fn(|c| row[c] * self.volume_std[c] + self.volume_mean[c]);
            f.pressure.push(v[0]);
            f.velocity.extend_from_slice(&v[1..4]);
            f.vorticity
                .extend(v[4..].iter().map(|y| y.signum() * y.abs().exp_m1()));
        }
        f
    }

    /// Standard deviations of the surface channels (their physical units per standardised unit).
    pub fn surface_std(&self) -> [f32; SURFACE_CHANNELS] {
        self.surface_std
    }

    /// The training means as physical fields (the mean-field baseline).
    pub fn mean_surface(&self) -> [f32; SURFACE_CHANNELS] {
        self.surface_mean
    }

    pub fn mean_volume(&self) -> [f32; VOLUME_CHANNELS] {
        self.volume_mean
    }
}

/// Physical volume fields, row-major.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct VolumeFields {
    pub pressure: Vec<f32>,
    pub velocity: Vec<f32>,
    pub vorticity: Vec<f32>,
}

/// One training example: positions in metres, targets standardised.
#[derive(Debug, Clone, PartialEq)]
pub struct Batch {
    pub step: u64,
    pub run: String,
    pub geometry_m: Vec<[f32; 3]>,
    /// Indices into `geometry_m`.
    pub supernodes: Vec<u32>,
    /// `[A·4]`: the drag and lift coefficients of the anchors' surface, as weights on the
    /// standardised surface channels (see `coefficient_weights`).
    pub drag_weights: Vec<f32>,
    pub lift_weights: Vec<f32>,
    pub surface_m: Vec<[f32; 3]>,
    /// `[A·4]`
    pub surface_targets: Vec<f32>,
    pub volume_m: Vec<[f32; 3]>,
    /// `[A·7]`
    pub volume_targets: Vec<f32>,
    /// Which target fields the run has, in the order of the loss's field terms (surface
    /// pressure, wall shear, volume pressure, velocity, vorticity); absent ones are masked.
    pub present: [bool; 5],
}

fn rows_of(values: &[f32], rows: &[usize]) -> Vec<[f32; 3]> {
    rows.iter()
        .map(|&r| [values[3 * r], values[3 * r + 1], values[3 * r + 2]])
        .collect()
}

/// Surface rows drawn with probability proportional to cell area, so anchors cover the body
/// evenly as a uniform sample of the CAD surface does at prediction time (cell centres crowd
/// where the mesh is refined). With replacement; repeats are rare for anchors ≪ cells.
fn area_weighted_rows(area: &[f32], k: usize, rng: &mut Rng) -> Vec<usize> {
    let mut cumulative = Vec::with_capacity(area.len());
    let mut total = 0.0f64;
    for a in area {
        total += a.max(0.0) as f64;
        cumulative.push(total);
    }
    if total <= 0.0 {
        return (0..k)
            .map(|_| rng.below(area.len() as u64) as usize)
            .collect();
    }
    (0..k)
        .map(|_| {
            let x = rng.uniform() * total;
            cumulative.partition_point(|c| *c <= x).min(area.len() - 1)
        })
        .collect()
}

/// The batch of `step`: a run chosen from `runs`, and its points, from `Rng::stream(seed, step)`.
pub fn sample_batch(
    runs: &[PreparedRun],
    normalizer: &Normalizer,
    spec: &BatchSpec,
    seed: u64,
    step: u64,
) -> Batch {
    let mut rng = Rng::stream(seed, step);
    let run = &runs[rng.below(runs.len() as u64) as usize];
    batch_for_run(run, normalizer, spec, &mut rng, step)
}

/// Random geometry points, supernodes and anchors of one run.
pub fn batch_for_run(
    run: &PreparedRun,
    normalizer: &Normalizer,
    spec: &BatchSpec,
    rng: &mut Rng,
    step: u64,
) -> Batch {
    match batch_from(run, normalizer, spec, rng, step) {
        Ok(batch) => batch,
        Err(never) => match never {},
    }
}

/// What a training step reads from a run: whole where the sampling needs every row (the CAD
/// points, the surface areas that weight the surface anchors), only the sampled rows otherwise.
pub trait RunRows {
    type Error;
    fn name(&self) -> &str;
    fn meta(&self) -> &RunMeta;
    fn geometry(&self) -> Result<Cow<'_, [f32]>, Self::Error>;
    fn surface_area(&self) -> Result<Cow<'_, [f32]>, Self::Error>;
    fn volume_len(&self) -> Result<usize, Self::Error>;
    /// Rows `rows` of dataset `dataset` (e.g. `volume/velocity`), `width` values each.
    fn rows(&self, dataset: &str, width: usize, rows: &[usize]) -> Result<Vec<f32>, Self::Error>;
}

impl RunRows for PreparedRun {
    type Error = std::convert::Infallible;

    fn name(&self) -> &str {
        &self.name
    }

    fn meta(&self) -> &RunMeta {
        &self.meta
    }

    fn geometry(&self) -> Result<Cow<'_, [f32]>, Self::Error> {
        Ok(Cow::Borrowed(&self.geometry_position))
    }

    fn surface_area(&self) -> Result<Cow<'_, [f32]>, Self::Error> {
        Ok(Cow::Borrowed(&self.surface_area))
    }

    fn volume_len(&self) -> Result<usize, Self::Error> {
        Ok(PreparedRun::volume_len(self))
    }

    fn rows(&self, dataset: &str, width: usize, rows: &[usize]) -> Result<Vec<f32>, Self::Error> {
        let values: &[f32] = match dataset {
            schema::SURFACE_POSITION => &self.surface_position,
            schema::SURFACE_NORMAL => &self.surface_normal,
            schema::SURFACE_PRESSURE => &self.surface_pressure,
            schema::SURFACE_WALL_SHEAR => &self.surface_wall_shear,
            schema::VOLUME_POSITION => &self.volume_position,
            schema::VOLUME_PRESSURE => &self.volume_pressure,
            schema::VOLUME_VELOCITY => &self.volume_velocity,
            schema::VOLUME_VORTICITY => &self.volume_vorticity,
            _ => &[],
        };
        Ok(pick(values, width, rows))
    }
}

/// A prepared run left on disk: each training step reads only what its batch needs, so a
/// dataset far larger than memory trains with memory bounded by a few batches.
#[derive(Debug, Clone)]
pub struct RunFile {
    pub name: String,
    pub path: std::path::PathBuf,
    pub meta: RunMeta,
}

impl RunRows for RunFile {
    type Error = DataError;

    fn name(&self) -> &str {
        &self.name
    }

    fn meta(&self) -> &RunMeta {
        &self.meta
    }

    fn geometry(&self) -> Result<Cow<'_, [f32]>, DataError> {
        self.whole(schema::GEOMETRY_POSITION)
    }

    fn surface_area(&self) -> Result<Cow<'_, [f32]>, DataError> {
        self.whole(schema::SURFACE_AREA)
    }

    fn volume_len(&self) -> Result<usize, DataError> {
        hdf5::dataset_shape(&self.path, schema::VOLUME_POSITION)
            .map(|(rows, _)| rows)
            .map_err(|e| DataError::file(&self.path, e.to_string()))
    }

    fn rows(&self, dataset: &str, width: usize, rows: &[usize]) -> Result<Vec<f32>, DataError> {
        if !self.meta.has(dataset) {
            return Ok(vec![0.0; rows.len() * width]); // masked, as PreparedRun holds it
        }
        let values = hdf5::read_rows_f32(&self.path, dataset, rows)
            .map_err(|e| DataError::file(&self.path, e.to_string()))?;
        if values.len() != rows.len() * width {
            return Err(DataError::file(
                &self.path,
                format!("`{dataset}` does not hold {width} values per row"),
            ));
        }
        Ok(values)
    }
}

impl RunFile {
    /// A run on disk, reading only its attributes now.
    pub fn open(name: &str, path: &std::path::Path) -> Result<Self, DataError> {
        let (_, meta) = read_meta(path)?;
        Ok(RunFile {
            name: name.to_string(),
            path: path.to_path_buf(),
            meta,
        })
    }

    fn whole(&self, dataset: &str) -> Result<Cow<'_, [f32]>, DataError> {
        let d = hdf5::read_dataset(&self.path, dataset)
            .map_err(|e| DataError::file(&self.path, e.to_string()))?;
        Ok(Cow::Owned(d.values.to_f32().into_owned()))
    }
}

/// The random geometry points, supernodes and anchors of one run (the draws depend only on
/// `rng`, not on where the run is kept, so memory and disk give the same batch).
pub fn batch_from<R: RunRows>(
    run: &R,
    normalizer: &Normalizer,
    spec: &BatchSpec,
    rng: &mut Rng,
    step: u64,
) -> Result<Batch, R::Error> {
    let geometry = run.geometry()?;
    let ng = geometry.len() / 3;
    let geometry_rows = choose_subset(ng, spec.geometry_points.max(1), rng.next_u64());
    let supernodes: Vec<u32> =
        choose_subset(geometry_rows.len(), spec.supernodes.max(1), rng.next_u64())
            .into_iter()
            .map(|i| i as u32)
            .collect();
    let area = run.surface_area()?;
    let surface_rows = area_weighted_rows(&area, spec.surface_anchors.max(1), rng);
    let volume_rows = choose_subset(
        run.volume_len()?,
        spec.volume_anchors.max(1),
        rng.next_u64(),
    );
    let triples =
        |v: Vec<f32>| -> Vec<[f32; 3]> { v.chunks_exact(3).map(|p| [p[0], p[1], p[2]]).collect() };
    let total_area_m2: f64 = area.iter().map(|a| a.max(0.0) as f64).sum();
    let normals = run.rows(schema::SURFACE_NORMAL, 3, &surface_rows)?;
    let present = crate::data::run::MASKABLE_FIELDS.map(|f| run.meta().has(f));
    let (drag_weights, lift_weights) =
        coefficient_weights(run.meta(), normalizer, &normals, total_area_m2);
    Ok(Batch {
        present,
        step,
        run: run.name().to_string(),
        drag_weights,
        lift_weights,
        geometry_m: rows_of(&geometry, &geometry_rows),
        supernodes,
        surface_m: triples(run.rows(schema::SURFACE_POSITION, 3, &surface_rows)?),
        surface_targets: normalizer.standardise_surface(
            &run.rows(schema::SURFACE_PRESSURE, 1, &surface_rows)?,
            &run.rows(schema::SURFACE_WALL_SHEAR, 3, &surface_rows)?,
        ),
        volume_m: triples(run.rows(schema::VOLUME_POSITION, 3, &volume_rows)?),
        volume_targets: normalizer.standardise_volume(&VolumeFields {
            pressure: run.rows(schema::VOLUME_PRESSURE, 1, &volume_rows)?,
            velocity: run.rows(schema::VOLUME_VELOCITY, 3, &volume_rows)?,
            vorticity: run.rows(schema::VOLUME_VORTICITY, 3, &volume_rows)?,
        }),
    })
}

/// Weights `a` (`[A·4]`, per surface anchor and standardised channel) with which the drag and
/// lift coefficients of the batch's anchors follow from the standardised outputs: ΔC = Σ a·Δŷ.
///
/// Anchors are drawn with probability proportional to area, so each stands for an equal share
/// A/k of the surface and Σ (−p n + τ)·(A/k) over the anchors estimates the whole surface's
/// force without bias; a prediction error that integrates to zero (noise) costs little, one that
/// shifts the force (a biased base pressure) costs a lot.
fn coefficient_weights(
    meta: &RunMeta,
    normalizer: &Normalizer,
    normals: &[f32],
    total_area_m2: f64,
) -> (Vec<f32>, Vec<f32>) {
    let k = normals.len() / 3;
    let reference = &meta.reference;
    let per_anchor_m2 = total_area_m2 / k.max(1) as f64;
    let to_coefficient = meta.pressure_kind.to_pascal(reference)
        / (reference.dynamic_pressure_pa() * reference.area_m2);
    // A field the run lacks adds nothing: its zeros would pull the coefficient towards them.
    let std = normalizer.surface_std();
    let (pressure, shear) = (
        meta.has(schema::SURFACE_PRESSURE),
        meta.has(schema::SURFACE_WALL_SHEAR),
    );
    let weights = |axis: usize| -> Vec<f32> {
        let c = to_coefficient * per_anchor_m2;
        let mut w = vec![0f32; k * SURFACE_CHANNELS];
        for (i, n) in normals.chunks_exact(3).enumerate() {
            let row = &mut w[i * SURFACE_CHANNELS..(i + 1) * SURFACE_CHANNELS];
            if pressure {
                row[0] = (-c * std[0] as f64 * n[axis] as f64) as f32;
            }
            if shear {
                row[1 + axis] = (c * std[1 + axis] as f64) as f32;
            }
        }
        w
    };
    (weights(meta.axes.flow), weights(meta.axes.up))
}

/// The training runs: read once into memory, or left on disk and read a batch at a time.
#[derive(Debug, Clone)]
pub enum RunStore {
    Memory(Vec<PreparedRun>),
    Disk(Vec<RunFile>),
}

impl RunStore {
    pub fn len(&self) -> usize {
        match self {
            RunStore::Memory(r) => r.len(),
            RunStore::Disk(r) => r.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The batch of `step` (as [`sample_batch`], wherever the runs are kept).
    pub fn batch(
        &self,
        normalizer: &Normalizer,
        spec: &BatchSpec,
        seed: u64,
        step: u64,
    ) -> Result<Batch, DataError> {
        match self {
            RunStore::Memory(runs) => Ok(sample_batch(runs, normalizer, spec, seed, step)),
            RunStore::Disk(runs) => {
                let mut rng = Rng::stream(seed, step);
                let run = &runs[rng.below(runs.len() as u64) as usize];
                batch_from(run, normalizer, spec, &mut rng, step)
            }
        }
    }
}

pub struct Prefetcher {
    receiver: Receiver<Result<Batch, DataError>>,
    /// Detached when dropped: the worker ends at its next send once the receiver is gone.
    _worker: JoinHandle<()>,
}

impl Prefetcher {
    pub fn start(
        runs: Arc<RunStore>,
        normalizer: Normalizer,
        spec: BatchSpec,
        seed: u64,
        steps: std::ops::Range<u64>,
    ) -> Self {
        let (sender, receiver) = sync_channel(4);
        let worker = std::thread::spawn(move || {
            for step in steps {
                let batch = runs.batch(&normalizer, &spec, seed, step);
                let failed = batch.is_err();
                if sender.send(batch).is_err() || failed {
                    break; // the trainer stopped early, or a run could not be read
                }
            }
        });
        Prefetcher {
            receiver,
            _worker: worker,
        }
    }

    /// The next batch; `None` once the range is exhausted.
    ///
    /// Training runs on a rayon worker (`model::device`), and building a batch uses rayon too: a
    /// worker that slept in `recv` would hold a thread the batch needs (with one thread, forever).
    /// So while it waits, the worker runs whatever work the pool has queued.
    pub fn next_batch(&self) -> Option<Result<Batch, DataError>> {
        if rayon::current_thread_index().is_none() {
            return self.receiver.recv().ok();
        }
        loop {
            match self.receiver.try_recv() {
                Ok(batch) => return Some(batch),
                Err(TryRecvError::Disconnected) => return None,
                Err(TryRecvError::Empty) => {}
            }
            if rayon::yield_now() != Some(rayon::Yield::Executed) {
                match self.receiver.recv_timeout(Duration::from_millis(1)) {
                    Ok(batch) => return Some(batch),
                    Err(RecvTimeoutError::Disconnected) => return None,
                    Err(RecvTimeoutError::Timeout) => {}
                }
            }
        }
    }
}
