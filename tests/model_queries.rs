//! Queries attend only to anchors: a query's output does not depend on which other queries
//! are evaluated with it, nor on the chunk size, and a query on an anchor reproduces it.

use slipstream::bench::model::{surface_points, volume_points, Workload};
use slipstream::model::{
    positions_tensor, tensor_values, AbUpt, AbUptConfig, Branch, CoordinateFrame, Cpu, ParamSource,
};
use slipstream::rng::Rng;

fn setup() -> (AbUpt<Cpu>, Workload, AbUptConfig) {
    let mut config = AbUptConfig::tiny();
    config.coordinates = CoordinateFrame {
        offset_m: [4.0, 4.0, 1.0],
        scale_per_m: [60.0; 3],
    };
    config.radius = 30.0;
    let model = AbUpt::<Cpu>::build(
        &config,
        ParamSource::random_with_std(7, 0.1),
        &Default::default(),
    )
    .unwrap();
    let workload = Workload::new(&config, 600, 80, 96, 11);
    (model, workload, config)
}

/// Largest `|a − b| / |b|` over output rows (one query's channels), in f64.
fn rel_diff(a: &[f32], b: &[f32], channels: usize) -> f64 {
    assert_eq!(a.len(), b.len());
    a.chunks(channels)
        .zip(b.chunks(channels))
        .map(|(x, y)| {
            let d: f64 = x.iter().zip(y).map(|(p, q)| f64::from(p - q).powi(2)).sum();
            let n: f64 = y.iter().map(|q| f64::from(*q).powi(2)).sum();
            (d / n.max(1e-30)).sqrt()
        })
        .fold(0.0, f64::max)
}

#[test]
fn outputs_do_not_depend_on_the_other_queries_or_the_chunk_size() {
    let (model, w, config) = setup();
    let device = Default::default();
    let enc = w.encode(&model, &device).unwrap();
    let mut rng = Rng::seed_from(5);
    for (branch, points, channels) in [
        (Branch::Volume, volume_points(&config, 10_000, &mut rng), 7),
        (
            Branch::Surface,
            surface_points(&config, 10_000, &mut rng),
            4,
        ),
    ] {
        let whole = model
            .decode_chunked(&enc, branch, &points, 10_000, |_| {})
            .unwrap();
        let mut seen = 0;
        let chunked = model
            .decode_chunked(&enc, branch, &points, 777, |n| seen += n)
            .unwrap();
        assert_eq!(seen, points.len());
        let d = rel_diff(&chunked, &whole, channels);
        assert!(
            d <= 1e-5,
            "{branch:?}: chunk 777 vs 10000 differ by {d:.2e}"
        );
        for &i in &[0usize, 1, 4_321, 9_999] {
            let alone = model
                .decode_chunked(&enc, branch, &points[i..i + 1], 1, |_| {})
                .unwrap();
            let row = &whole[i * channels..(i + 1) * channels];
            let d = rel_diff(&alone, row, channels);
            assert!(
                d <= 1e-5,
                "{branch:?}: query {i} alone vs in 10000 differ by {d:.2e}"
            );
        }
        // The outputs are not trivially constant.
        let spread = whole.iter().fold(f32::MIN, |m, v| m.max(*v))
            - whole.iter().fold(f32::MAX, |m, v| m.min(*v));
        assert!(spread > 1e-2, "{branch:?}: outputs vary across space");
    }
}

#[test]
fn a_query_on_an_anchor_reproduces_the_anchor() {
    let (model, w, _) = setup();
    let device = Default::default();
    let enc = w.encode(&model, &device).unwrap();
    let as_query = tensor_values(model.decode(
        &enc,
        Branch::Volume,
        positions_tensor::<Cpu>(&w.volume_anchors, &device),
    ));
    let anchors = tensor_values(enc.volume_anchors.clone());
    assert!(rel_diff(&as_query, &anchors, 7) <= 1e-5);
    let as_query = tensor_values(model.decode(
        &enc,
        Branch::Surface,
        positions_tensor::<Cpu>(&w.surface_anchors, &device),
    ));
    assert!(rel_diff(&as_query, &tensor_values(enc.surface_anchors.clone()), 4) <= 1e-5);
}

#[test]
fn bad_inputs_are_errors_not_panics() {
    let (model, w, _) = setup();
    let device = Default::default();
    let anchors = positions_tensor::<Cpu>(&w.surface_anchors, &device);
    let err = model
        .encode(
            &w.geometry,
            &[w.geometry.len() as u32],
            anchors.clone(),
            anchors.clone(),
        )
        .unwrap_err();
    assert!(err.to_string().contains("supernode index"), "{err}");
    assert!(model
        .encode(&w.geometry, &[], anchors.clone(), anchors)
        .is_err());
}
