//! `slipstream bench geometry`: the geometry goals of this 2-core machine, each printed with its time.
//!
//! Meshes are synthetic (car-sized ellipsoids tessellated to the requested triangle count) so that the
//! benchmark runs anywhere without data.

use std::time::Instant;

use serde::Serialize;

use crate::geometry::synthetic::ellipsoid;
use crate::geometry::{frontal_area, neighbours::PointIndex, sample_surface, SurfaceQuery};
use crate::progress::Progress;
use crate::rng::Rng;

/// One timed operation.
#[derive(Debug, Clone, Serialize)]
pub struct Timing {
    pub name: String,
    pub seconds: f64,
    /// What the operation produced, for a sanity check of the work done.
    pub detail: String,
}

/// Sizes of the benchmark problems.
#[derive(Debug, Clone, Serialize)]
pub struct GeometryBenchConfig {
    pub triangles: usize,
    pub surface_samples: usize,
    pub winding_queries: usize,
    pub knn_points: usize,
    pub knn_queries: usize,
    pub k: usize,
    pub pixel_m: f64,
}

impl Default for GeometryBenchConfig {
    fn default() -> Self {
        GeometryBenchConfig {
            triangles: 1_000_000,
            surface_samples: 10_000_000,
            winding_queries: 1_000_000,
            knn_points: 10_000_000,
            knn_queries: 1_000_000,
            k: 32,
            pixel_m: 1e-3,
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct GeometryBenchmark {
    pub config: GeometryBenchConfig,
    pub timings: Vec<Timing>,
    pub threads: usize,
}

fn timed<T>(
    name: &str,
    timings: &mut Vec<Timing>,
    progress: &Progress,
    f: impl FnOnce() -> (T, String),
) -> T {
    let t = Instant::now();
    let (out, detail) = f();
    let seconds = t.elapsed().as_secs_f64();
    progress.note(|| format!("  {name:<48} {seconds:>8.3} s   {detail}"));
    timings.push(Timing {
        name: name.into(),
        seconds,
        detail,
    });
    out
}

/// Runs every benchmark, noting each one's time on `progress` as it finishes.
pub fn run(config: &GeometryBenchConfig, progress: &Progress) -> GeometryBenchmark {
    let mut timings = Vec::new();
    // A car-sized body: 4.5 m long, 1.8 m wide, 1.4 m high.
    let soup = timed("build ellipsoid mesh", &mut timings, progress, || {
        let s = ellipsoid(config.triangles, [2.25, 0.9, 0.7], [2.25, 0.0, 0.7]);
        let n = s.len();
        (s, format!("{n} triangles"))
    });
    timed(
        &format!("{} surface samples", config.surface_samples),
        &mut timings,
        progress,
        || {
            let s = sample_surface(&soup, config.surface_samples, 1);
            ((), format!("{} points", s.position.len()))
        },
    );
    let query = timed(
        "winding/distance structure (BVH) build",
        &mut timings,
        progress,
        || (SurfaceQuery::new(&soup), String::new()),
    );
    let mut rng = Rng::seed_from(2);
    let queries: Vec<[f32; 3]> = (0..config.winding_queries)
        .map(|_| {
            [
                rng.range(-1.0, 5.5) as f32,
                rng.range(-1.5, 1.5) as f32,
                rng.range(-0.5, 2.0) as f32,
            ]
        })
        .collect();
    timed(
        &format!("{} winding-number queries", config.winding_queries),
        &mut timings,
        progress,
        || {
            let w = query.winding_numbers(&queries);
            let inside = w.iter().filter(|x| x.abs() > 0.5).count();
            ((), format!("{inside} inside"))
        },
    );
    timed(
        &format!("{} signed distances", config.winding_queries),
        &mut timings,
        progress,
        || {
            let d = query.signed_distances(&queries);
            let mean = d.iter().sum::<f64>() / d.len().max(1) as f64;
            ((), format!("mean {mean:.3} m"))
        },
    );
    timed(
        &format!("frontal area at {} mm pixels", config.pixel_m * 1e3),
        &mut timings,
        progress,
        || {
            // The ellipsoid's frontal area is π·0.9·0.7 m².
            let exact = std::f64::consts::PI * 0.9 * 0.7;
            let detail = match frontal_area(&soup, [1.0, 0.0, 0.0], config.pixel_m) {
                Ok(a) => format!("{:.5} ± {:.5} m² (exact {exact:.5})", a.area_m2, a.error_m2),
                Err(e) => format!("failed: {e}"),
            };
            ((), detail)
        },
    );
    let points: Vec<[f32; 3]> = (0..config.knn_points)
        .map(|_| {
            [
                rng.range(0.0, 4.5) as f32,
                rng.range(-0.9, 0.9) as f32,
                rng.range(0.0, 1.4) as f32,
            ]
        })
        .collect();
    let index = timed(
        &format!("k-d tree build over {} points", config.knn_points),
        &mut timings,
        progress,
        || (PointIndex::new(&points), String::new()),
    );
    let knn_queries: Vec<[f32; 3]> = points
        .iter()
        .step_by((points.len() / config.knn_queries.max(1)).max(1))
        .copied()
        .take(config.knn_queries)
        .collect();
    timed(
        &format!("{} k-NN queries (k = {})", knn_queries.len(), config.k),
        &mut timings,
        progress,
        || {
            let r = index.nearest_batch(&knn_queries, config.k);
            ((), format!("{} neighbours", r.index.len()))
        },
    );
    GeometryBenchmark {
        config: config.clone(),
        timings,
        threads: rayon::current_num_threads(),
    }
}
