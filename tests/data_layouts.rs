//! `prepare --layout drivaerml|ahmedml` on dataset folders built from third-party fixture files
//! (VTK-written surface and volume, renamed into each layout, with CSVs written here): the prepared
//! values equal what the fixture manifest says (areas, outward normals, pressure-force integral),
//! units are recorded as the layout defines them, the coefficient with the layout's ρ, U∞ and
//! A_ref equals the hand-computed value, volumes stored in parts are read in place, vorticity is computed
//! where the dataset has none, and broken runs are reported while the rest prepare.

mod common;

use std::path::Path;
use std::process::Command;

use slipstream::data::PreparedRun;
use slipstream::mesh::{self, Field};

fn copy(from: &Path, to: &Path) {
    std::fs::create_dir_all(to.parent().unwrap()).unwrap();
    std::fs::copy(from, to).unwrap();
}

/// `src/run_<i>/` in DrivAerML's layout from the fixtures: CAD, surface and a force table (no
/// volume; each test adds its own).
fn drivaerml_run(synthetic: &Path, src: &Path, i: usize, forces_csv: &str) -> std::path::PathBuf {
    let run = src.join(format!("run_{i}"));
    copy(
        &synthetic.join("surface_binary.stl"),
        &run.join(format!("drivaer_{i}.stl")),
    );
    copy(
        &synthetic.join("surface_f32_binary_u64.vtp"),
        &run.join(format!("boundary_{i}.vtp")),
    );
    std::fs::write(run.join(format!("force_mom_constref_{i}.csv")), forces_csv).unwrap();
    run
}

/// The run's faces add up to the fixture's surface area (manifest `surface_area`).
fn assert_fixture_area(run: &PreparedRun, facts: &serde_json::Value) {
    let area_m2: f64 = run.surface_area.iter().map(|a| *a as f64).sum();
    let want = facts["surface_area"].as_f64().unwrap();
    assert!(
        common::close(area_m2, want, 1e-5),
        "area {area_m2} m², fixture {want}"
    );
}

/// The fixture's closed surface: its area, and the volume it encloses, which the divergence
/// theorem gives with a positive sign only when the normals point outward.
fn assert_fixture_surface(run: &PreparedRun, facts: &serde_json::Value) {
    assert_fixture_area(run, facts);
    let volume_m3 = enclosed_volume_m3(run);
    let want = facts["enclosed_volume"].as_f64().unwrap();
    assert!(
        common::close(volume_m3, want, 1e-4),
        "outward normals: enclosed volume {volume_m3} m³, fixture {want}"
    );
}

/// The VTK-written BINARY legacy surface fixture, and its faces as lists of point indices.
fn fixture_surface(synthetic: &Path) -> (mesh::Mesh, Vec<Vec<u32>>) {
    let surface = mesh::read_mesh(&synthetic.join("surface_f32_legacy_v42_binary.vtk")).unwrap();
    let faces = (0..surface.n_cells())
        .map(|c| surface.cells.cell(c).to_vec())
        .collect();
    (surface, faces)
}

/// The volume the prepared surface encloses by the divergence theorem, m³: positive when the
/// normals point out of the body.
fn enclosed_volume_m3(run: &PreparedRun) -> f64 {
    (0..run.surface_len())
        .map(|c| {
            (0..3)
                .map(|k| {
                    run.surface_position[3 * c + k] as f64 * run.surface_normal[3 * c + k] as f64
                })
                .sum::<f64>()
                * run.surface_area[c] as f64
                / 3.0
        })
        .sum()
}

/// [`drivaerml_run`] with Cd 0.28, Cl 0.05 and the fixture volume as `volume_<i>.vtu`.
fn drivaerml_run_with_volume(synthetic: &Path, src: &Path, i: usize) {
    let run = drivaerml_run(synthetic, src, i, "cd,cl\n0.28,0.05\n");
    copy(
        &synthetic.join("volume_f32_binary_u64.vtu"),
        &run.join(format!("volume_{i}.vtu")),
    );
}

fn prepare(layout: &str, src: &Path, out: &Path) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_slipstream"))
        .args([
            "prepare",
            "--layout",
            layout,
            "--geometry-points",
            "2000",
            "--jobs",
            "2",
            "--json",
            "--src",
        ])
        .arg(src)
        .arg("--out")
        .arg(out)
        .output()
        .unwrap()
}

/// The analytic velocity of the fixture volume (manifest "formulas") and its curl by central
/// differences.
fn analytic_curl(m: &serde_json::Value, p: [f64; 3]) -> [f64; 3] {
    let g = &m["geometry_parameters"];
    let c = &m["field_coefficients"];
    let (l, w, h, ground) = (
        g["L"].as_f64().unwrap(),
        g["W"].as_f64().unwrap(),
        g["H"].as_f64().unwrap(),
        g["ground"].as_f64().unwrap(),
    );
    let (u, c1, c2, c3) = (
        c["U_inf"].as_f64().unwrap(),
        c["c1"].as_f64().unwrap(),
        c["c2"].as_f64().unwrap(),
        c["c3"].as_f64().unwrap(),
    );
    let (xc, zc) = (l / 2.0, ground + h / 2.0);
    let vel = |q: [f64; 3]| {
        let gg = (-(((q[0] - xc) / (0.6 * l)).powi(2)
            + (q[1] / (0.8 * w)).powi(2)
            + ((q[2] - zc) / (0.8 * h)).powi(2)))
        .exp();
        let zeta = (q[2] - zc) / (h / 2.0);
        [
            u * (1.0 - c1 * gg),
            u * c2 * gg * (std::f64::consts::PI * q[1] / w).sin(),
            u * c3 * gg * zeta,
        ]
    };
    let e = 1e-5;
    let d = |axis: usize, comp: usize| {
        let (mut a, mut b) = (p, p);
        a[axis] += e;
        b[axis] -= e;
        (vel(a)[comp] - vel(b)[comp]) / (2.0 * e)
    };
    [d(1, 2) - d(2, 1), d(2, 0) - d(0, 2), d(0, 1) - d(1, 0)]
}

#[test]
fn drivaerml_and_ahmedml_folders_prepare_to_the_manifests_facts() {
    let Some(fixtures) = common::fixtures_dir() else {
        return;
    };
    let synthetic = fixtures.join("synthetic");
    let m = common::load_manifest(&synthetic);
    let surface_facts = &m["files"]["surface_f32_binary_u64.vtp"];
    let dir = tempfile::tempdir().unwrap();

    // DrivAerML: run_1 whole, run_2 with its volume split into .part files, run_3 without a
    // volume, run_4 with a volume cut short.
    let src = dir.path().join("drivaerml");
    for i in 1..=4 {
        drivaerml_run(&synthetic, &src, i, "cd,cl\n0.2871,0.0512\n");
    }
    let volume = std::fs::read(synthetic.join("volume_f32_binary_u64.vtu")).unwrap();
    std::fs::write(src.join("run_1/volume_1.vtu"), &volume).unwrap();
    // Design parameters as DrivAerML ships them (header of names, one row), carried into the
    // prepared run.
    std::fs::write(
        src.join("run_1/geo_parameters_1.csv"),
        "Vehicle_Length,Vehicle_Width,Hood_Angle\n-0.05,0.02,1.5\n",
    )
    .unwrap();
    let third = volume.len() / 3;
    for (k, piece) in [
        &volume[..third],
        &volume[third..2 * third],
        &volume[2 * third..],
    ]
    .iter()
    .enumerate()
    {
        std::fs::write(src.join(format!("run_2/volume_2.vtu.part{k}")), piece).unwrap();
    }
    std::fs::write(src.join("run_4/volume_4.vtu"), &volume[..volume.len() / 2]).unwrap();

    let out = dir.path().join("drivaerml-prepared");
    let result = prepare("drivaerml", &src, &out);
    assert_eq!(
        result.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&result.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&result.stdout).unwrap();
    let status = |run: &str| {
        report
            .as_array()
            .unwrap()
            .iter()
            .find(|o| o["run"] == run)
            .unwrap()["status"]
            .as_str()
            .unwrap()
            .to_string()
    };
    assert_eq!(status("run_1"), "prepared");
    assert_eq!(status("run_2"), "prepared");
    assert_eq!(status("run_3"), "broken");
    assert_eq!(status("run_4"), "broken");
    let reason = report
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["run"] == "run_3")
        .unwrap()["reason"]
        .to_string();
    assert!(reason.contains("volume_3.vtu"), "{reason}");

    let run = PreparedRun::read(&out.join("run_1.h5")).unwrap();
    assert_fixture_surface(&run, surface_facts);
    // Pressure force along x from the prepared surface: −Σ p n_x A = −(manifest integral).
    let fx: f64 = (0..run.surface_len())
        .map(|c| {
            -(run.surface_pressure[c] as f64)
                * run.surface_normal[3 * c] as f64
                * run.surface_area[c] as f64
        })
        .sum();
    let want = -surface_facts["integral_pMeanTrim_nx_dA"].as_f64().unwrap();
    assert!(common::close(fx, want, 1e-5), "{fx} vs {want}");
    // Units as DrivAerML defines them; the coefficient with its ρ = 1, U∞ = 38.889, A = 2.17.
    assert_eq!(run.meta.pressure_kind.name(), "kinematic");
    assert_eq!(
        (run.meta.reference.speed_m_s, run.meta.reference.area_m2),
        (38.889, 2.17)
    );
    assert_eq!((run.meta.cd, run.meta.cl), (Some(0.2871), Some(0.0512)));
    let names: Vec<&str> = run
        .meta
        .parameters
        .iter()
        .map(|(n, _)| n.as_str())
        .collect();
    assert_eq!(names, ["Vehicle_Length", "Vehicle_Width", "Hood_Angle"]);
    let values: Vec<f64> = run.meta.parameters.iter().map(|(_, v)| *v).collect();
    assert_eq!(values, [-0.05, 0.02, 1.5]);
    let cd_pressure = fx / (0.5 * 1.0 * 38.889f64.powi(2) * 2.17);
    let forces = slipstream::physics::integrate(
        &run.loads_with(&run.surface_pressure, &vec![0.0; run.surface_len() * 3]),
        run.meta.pressure_kind,
        &run.meta.reference,
        [0.0; 3],
    )
    .unwrap();
    let c = slipstream::physics::coefficients(&forces, &run.meta.reference, run.meta.axes);
    assert!((c.cd - cd_pressure).abs() < 1e-9 * cd_pressure.abs().max(1.0));
    // Shear: OpenFOAM stores −τ; the prepared traction is its negative.
    let stored: f64 = surface_facts["arrays"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["name"] == "wallShearStressMeanTrim" && a["association"] == "CellData")
        .unwrap()["component_sum"][0]
        .as_f64()
        .unwrap();
    let prepared: f64 = run
        .surface_wall_shear
        .chunks_exact(3)
        .map(|t| t[0] as f64)
        .sum();
    assert!(
        common::close(prepared, -stored, 1e-5),
        "{prepared} vs {stored}"
    );

    // The concatenated volume equals the whole one.
    let split = PreparedRun::read(&out.join("run_2.h5")).unwrap();
    assert_eq!(split.volume_velocity, run.volume_velocity);
    // DrivAerML has no vorticity: computed from the velocity, close to the analytic curl.
    let (mut err, mut norm) = (0.0f64, 0.0f64);
    for (k, p) in run.volume_position.chunks_exact(3).enumerate() {
        let w = analytic_curl(&m, [p[0] as f64, p[1] as f64, p[2] as f64]);
        for (d, want) in w.iter().enumerate() {
            err += (run.volume_vorticity[3 * k + d] as f64 - want).powi(2);
            norm += want * want;
        }
    }
    let rel = (err / norm).sqrt();
    eprintln!("least-squares vorticity vs analytic curl: relative L2 {rel:.3}");
    assert!(rel < 0.25, "vorticity relative L2 {rel}");

    // AhmedML: its own field names (renamed from the fixture), its references.
    let src = dir.path().join("ahmedml");
    let run_dir = src.join("run_7");
    copy(
        &synthetic.join("surface_binary.stl"),
        &run_dir.join("ahmed_7.stl"),
    );
    let rename = |mesh: &mut slipstream::mesh::Mesh, from: &str, to: &str| {
        for f in mesh.cell_data.iter_mut().filter(|f| f.name == from) {
            f.name = to.to_string();
        }
    };
    let mut surface = mesh::read_mesh(&synthetic.join("surface_f32_binary_u64.vtp")).unwrap();
    rename(&mut surface, "pMeanTrim", "pMean");
    rename(
        &mut surface,
        "wallShearStressMeanTrim",
        "wallShearStressMean",
    );
    mesh::write_mesh(&run_dir.join("boundary_7.vtp"), &surface).unwrap();
    let mut vol = mesh::read_mesh(&synthetic.join("volume_f32_binary_u64.vtu")).unwrap();
    rename(&mut vol, "UMeanTrim", "UMean");
    rename(&mut vol, "pMeanTrim", "pMean");
    let centres = slipstream::geometry::centroid::cell_centres(&vol);
    let curl: Vec<f32> = centres
        .iter()
        .flat_map(|p| analytic_curl(&m, [p[0] as f64, p[1] as f64, p[2] as f64]).map(|v| v as f32))
        .collect();
    vol.cell_data
        .push(Field::new_f32("vorticityMean", 3, curl.clone()));
    mesh::write_mesh(&run_dir.join("volume_7.vtu"), &vol).unwrap();
    std::fs::write(run_dir.join("force_mom_7.csv"), "Cd,Cl\n0.301,0.02\n").unwrap();
    let out = dir.path().join("ahmedml-prepared");
    let result = prepare("ahmedml", &src, &out);
    assert!(
        result.status.success(),
        "{}",
        String::from_utf8_lossy(&result.stderr)
    );
    let run = PreparedRun::read(&out.join("run_7.h5")).unwrap();
    assert_eq!(
        (run.meta.reference.speed_m_s, run.meta.reference.area_m2),
        (1.0, 0.112032)
    );
    assert_eq!(run.meta.cd, Some(0.301));
    assert_eq!(
        run.volume_vorticity, curl,
        "AhmedML's own vorticity is kept"
    );
    let fx: f64 = (0..run.surface_len())
        .map(|c| {
            -(run.surface_pressure[c] as f64)
                * run.surface_normal[3 * c] as f64
                * run.surface_area[c] as f64
        })
        .sum();
    assert!(common::close(fx, want, 1e-5));

    // A missing field names itself; an unknown layout lists the supported ones.
    let mut bare = mesh::read_mesh(&synthetic.join("surface_f32_binary_u64.vtp")).unwrap();
    bare.cell_data.retain(|f| f.name != "pMeanTrim");
    mesh::write_mesh(&dir.path().join("drivaerml/run_1/boundary_1.vtp"), &bare).unwrap();
    let again = dir.path().join("again");
    let result = prepare("drivaerml", &dir.path().join("drivaerml"), &again);
    let text = String::from_utf8_lossy(&result.stdout);
    assert!(text.contains("pMeanTrim"), "{text}");
    let unknown = prepare("windtunnel", &src, &again);
    assert_eq!(unknown.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("drivaerml"));
}

/// DrivAerML publishes each volume as `volume_<i>.vtu.00.part` and `.01.part`. A VTK-written volume
/// in DrivAerML's encoding (inline base64, UInt64 headers), cut at an odd byte offset inside a
/// base64 run (run_2) and inside a tag (run_3), prepares to exactly the volume of the whole file
/// (run_1), read in place: nothing is written beside the parts.
#[test]
fn drivaerml_volumes_in_parts_prepare_like_the_whole_file_without_a_joined_copy() {
    let Some(fixtures) = common::fixtures_dir() else {
        return;
    };
    let synthetic = fixtures.join("synthetic");
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("drivaerml");
    let volume = std::fs::read(synthetic.join("volume_f32_binary_u64.vtu")).unwrap();
    let find = |needle: &[u8]| {
        volume
            .windows(needle.len())
            .position(|w| w == needle)
            .unwrap()
    };
    // Inside the base64 of the cell velocities (odd offset, not on a 4-character group), and
    // inside the `<DataArray … Name="connectivity"` tag.
    let odd = |at: usize| at | 1;
    let in_base64 = odd(find(
        b"Name=\"UMeanTrim\" NumberOfComponents=\"3\" format=\"binary\" RangeMin=\"22",
    ) + 4000);
    let in_tag = odd(find(b"Name=\"connectivity\"") + 6);
    assert!(volume[in_base64 - 1..=in_base64]
        .iter()
        .all(|b| b.is_ascii_alphanumeric() || b"+/".contains(b)));
    for i in 1..=3 {
        drivaerml_run(&synthetic, &src, i, "cd,cl\n0.2871,0.0512\n");
    }
    std::fs::write(src.join("run_1/volume_1.vtu"), &volume).unwrap();
    for (i, cut) in [(2, in_base64), (3, in_tag)] {
        let run = src.join(format!("run_{i}"));
        std::fs::write(run.join(format!("volume_{i}.vtu.00.part")), &volume[..cut]).unwrap();
        std::fs::write(run.join(format!("volume_{i}.vtu.01.part")), &volume[cut..]).unwrap();
    }
    let listing = |run: &str| {
        let mut names: Vec<String> = std::fs::read_dir(src.join(run))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    };
    let before = [listing("run_2"), listing("run_3")];

    let out = dir.path().join("prepared");
    let result = prepare("drivaerml", &src, &out);
    assert!(
        result.status.success(),
        "{}",
        String::from_utf8_lossy(&result.stderr)
    );
    assert_eq!([listing("run_2"), listing("run_3")], before);
    let whole = PreparedRun::read(&out.join("run_1.h5")).unwrap();
    assert!(!whole.volume_velocity.is_empty());
    for i in [2, 3] {
        let split = PreparedRun::read(&out.join(format!("run_{i}.h5"))).unwrap();
        assert_eq!(split.volume_position, whole.volume_position, "run_{i}");
        assert_eq!(split.volume_velocity, whole.volume_velocity, "run_{i}");
        assert_eq!(split.volume_pressure, whole.volume_pressure, "run_{i}");
        assert_eq!(split.volume_vorticity, whole.volume_vorticity, "run_{i}");
    }

    // A gap in the parts is an error naming them; the run is reported, the others prepare.
    std::fs::rename(
        src.join("run_3/volume_3.vtu.01.part"),
        src.join("run_3/volume_3.vtu.02.part"),
    )
    .unwrap();
    let again = prepare("drivaerml", &src, &dir.path().join("prepared-again"));
    let report = String::from_utf8_lossy(&again.stdout);
    assert!(
        report.contains("part 1 is missing") && report.contains("volume_3.vtu.02.part"),
        "{report}"
    );
}

#[test]
fn run_selection_and_shards_split_the_run_list() {
    use slipstream::data::prepare::RunSelection;
    let s = RunSelection::parse(Some("2-5"), Some("1/2")).unwrap();
    assert_eq!(s.numbers, Some((2, 5)));
    assert_eq!(s.shard, Some((1, 2)));
    assert!(RunSelection::parse(Some("5-2"), None).is_err());
    assert!(RunSelection::parse(None, Some("2/2")).is_err());
    assert!(RunSelection::parse(None, Some("x")).is_err());
}

/// WindsorML: surface coefficients as point data on an unstructured grid of faces (Cp and three
/// scalar skin-friction arrays), the volume velocity as three scalar cell arrays, y up, runs
/// numbered from 0. Built from the VTK-written fixtures with arrays renamed and rescaled here.
#[test]
fn windsorml_folder_prepares_point_data_coefficients() {
    let Some(fixtures) = common::fixtures_dir() else {
        return;
    };
    let synthetic = fixtures.join("synthetic");
    let m = common::load_manifest(&synthetic);
    let surface_facts = &m["files"]["surface_f32_binary_u64.vtp"];
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("windsorml");
    let run_dir = src.join("run_0");
    copy(
        &synthetic.join("surface_binary.stl"),
        &run_dir.join("windsor_0.stl"),
    );
    // Coefficients from the fixture's kinematic point fields with q = ½·38.889².
    let q = 0.5 * 38.889f32 * 38.889;
    let fixture = mesh::read_mesh(&synthetic.join("surface_f32_binary_u64.vtp")).unwrap();
    let point = |name: &str| {
        fixture
            .field(slipstream::mesh::Location::Point, name)
            .unwrap()
            .values
            .to_f32()
            .into_owned()
    };
    let cp: Vec<f32> = point("p").iter().map(|v| v / q).collect();
    let cf: Vec<f32> = point("wallShearStress").iter().map(|v| v / q).collect();
    let mut surface = fixture.clone();
    surface.cell_data.clear();
    surface.point_data = vec![Field::new_f32("cpavg", 1, cp.clone())];
    for (k, axis) in ["x", "y", "z"].iter().enumerate() {
        let column: Vec<f32> = cf.chunks_exact(3).map(|t| t[k]).collect();
        surface
            .point_data
            .push(Field::new_f32(format!("cf{axis}avg"), 1, column));
    }
    mesh::write_mesh(&run_dir.join("boundary_0.vtu"), &surface).unwrap();
    let mut vol = mesh::read_mesh(&synthetic.join("volume_f32_binary_u64.vtu")).unwrap();
    let velocity = vol
        .field(slipstream::mesh::Location::Cell, "UMeanTrim")
        .unwrap()
        .values
        .to_f32()
        .into_owned();
    let pressure = vol
        .field(slipstream::mesh::Location::Cell, "pMeanTrim")
        .unwrap()
        .clone();
    vol.point_data.clear();
    vol.cell_data = vec![Field {
        name: "pressureavg".into(),
        ..pressure
    }];
    for (k, axis) in ["x", "y", "z"].iter().enumerate() {
        let column: Vec<f32> = velocity.chunks_exact(3).map(|t| t[k]).collect();
        vol.cell_data
            .push(Field::new_f32(format!("velocity{axis}avg"), 1, column));
    }
    mesh::write_mesh(&run_dir.join("volume_0.vtu"), &vol).unwrap();
    std::fs::write(
        run_dir.join("force_mom_0.csv"),
        "cd, cs, cl, cmy\n0.28182, 0.00082, 0.48822, -0.07294\n",
    )
    .unwrap();

    let out = dir.path().join("windsorml-prepared");
    let result = prepare("windsorml", &src, &out);
    assert!(
        result.status.success(),
        "{}",
        String::from_utf8_lossy(&result.stderr)
    );
    let run = PreparedRun::read(&out.join("run_0.h5")).unwrap();
    assert_eq!(run.meta.pressure_kind.name(), "cp");
    assert_eq!(run.meta.reference.area_m2, 0.112);
    assert_eq!(run.meta.cd, Some(0.28182));
    assert_eq!(run.meta.cl, Some(0.48822));
    // y up: lift is along +y.
    assert_eq!(run.meta.axes.up, 1, "{:?}", run.meta.axes);
    assert_fixture_area(&run, surface_facts);
    // Each cell's values are the mean of its points' values.
    let mut max_err = 0.0f32;
    for c in 0..fixture.n_cells() {
        let ids = fixture.cells.cell(c);
        let mean = |f: &dyn Fn(usize) -> f32| {
            ids.iter().map(|&p| f(p as usize)).sum::<f32>() / ids.len() as f32
        };
        max_err = max_err.max((run.surface_pressure[c] - mean(&|p| cp[p])).abs());
        for k in 0..3 {
            max_err =
                max_err.max((run.surface_wall_shear[3 * c + k] - mean(&|p| cf[3 * p + k])).abs());
        }
    }
    assert!(max_err < 1e-5, "cell means differ by {max_err}");
    // The drag coefficient integrates the coefficients directly: Σ(−Cp n_x + Cf_x) A / A_ref.
    let by_hand: f64 = (0..run.surface_len())
        .map(|c| {
            (-(run.surface_pressure[c] as f64) * run.surface_normal[3 * c] as f64
                + run.surface_wall_shear[3 * c] as f64)
                * run.surface_area[c] as f64
        })
        .sum::<f64>()
        / 0.112;
    let forces = slipstream::physics::integrate(
        &run.loads_with(&run.surface_pressure, &run.surface_wall_shear),
        run.meta.pressure_kind,
        &run.meta.reference,
        [0.0; 3],
    )
    .unwrap();
    let c = slipstream::physics::coefficients(&forces, &run.meta.reference, run.meta.axes);
    assert!(common::close(c.cd, by_hand, 1e-9), "{} vs {by_hand}", c.cd);
    // The volume's three scalar velocity arrays become one vector, cell by cell.
    assert_eq!(run.volume_velocity, velocity);
    assert_eq!(run.volume_pressure.len(), vol.n_cells());

    // A volume without one of the layout's arrays: the run is broken, the reason names the array
    // and the file (found from the file's outline, before any data is read).
    vol.cell_data.retain(|f| f.name != "pressureavg");
    mesh::write_mesh(&run_dir.join("volume_0.vtu"), &vol).unwrap();
    let again = dir.path().join("windsorml-again");
    let result = prepare("windsorml", &src, &again);
    let text = String::from_utf8_lossy(&result.stdout);
    assert!(
        text.contains("pressureavg") && text.contains("volume_0.vtu"),
        "{text}"
    );
}

/// A grown dataset: runs prepared later join the split `--new-runs-to` names; without it,
/// prepare refuses to leave them in no split; the existing splits stay as they were.
#[test]
fn new_runs_join_the_named_split_and_old_ones_stay() {
    let Some(fixtures) = common::fixtures_dir() else {
        return;
    };
    let synthetic = fixtures.join("synthetic");
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("drivaerml");
    let add_run = |i: usize| drivaerml_run_with_volume(&synthetic, &src, i);
    for i in 1..=3 {
        add_run(i);
    }
    let out = dir.path().join("prepared");
    let first = prepare("drivaerml", &src, &out);
    assert!(
        first.status.success(),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    let read = || -> serde_json::Value {
        serde_json::from_str(&std::fs::read_to_string(out.join("splits.json")).unwrap()).unwrap()
    };
    let before = read();
    add_run(4);
    let refused = prepare("drivaerml", &src, &out);
    assert!(!refused.status.success());
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("--new-runs-to"),
        "{}",
        String::from_utf8_lossy(&refused.stderr)
    );
    let grown = Command::new(env!("CARGO_BIN_EXE_slipstream"))
        .args([
            "prepare",
            "--layout",
            "drivaerml",
            "--geometry-points",
            "2000",
        ])
        .args(["--new-runs-to", "train", "--src"])
        .arg(&src)
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    assert!(
        grown.status.success(),
        "{}",
        String::from_utf8_lossy(&grown.stderr)
    );
    let after = read();
    assert_eq!(after["val"], before["val"]);
    assert_eq!(after["test"], before["test"]);
    let train: Vec<&str> = after["train"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert!(train.contains(&"run_4"), "{train:?}");
    assert_eq!(train.len(), before["train"].as_array().unwrap().len() + 1);
}

/// Split lists fix each run's split before it exists: runs prepared one call at a time
/// (`--runs N`, as a family is prepared while it is generated) all keep their listed split.
#[test]
fn runs_prepared_one_at_a_time_keep_their_listed_splits() {
    let Some(fixtures) = common::fixtures_dir() else {
        return;
    };
    let synthetic = fixtures.join("synthetic");
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("drivaerml");
    for i in 1..=3 {
        drivaerml_run_with_volume(&synthetic, &src, i);
    }
    let lists = dir.path().join("lists");
    std::fs::create_dir_all(&lists).unwrap();
    std::fs::write(lists.join("train.txt"), "run_1\nrun_3\nrun_9\n").unwrap();
    std::fs::write(lists.join("val.txt"), "run_2\n").unwrap();
    std::fs::write(lists.join("test.txt"), "run_8\n").unwrap();
    let out = dir.path().join("prepared");
    for run in ["3", "2", "1"] {
        let o = Command::new(env!("CARGO_BIN_EXE_slipstream"))
            .args([
                "prepare",
                "--layout",
                "drivaerml",
                "--geometry-points",
                "2000",
            ])
            .args(["--runs", run, "--split"])
            .arg(&lists)
            .arg("--src")
            .arg(&src)
            .arg("--out")
            .arg(&out)
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    }
    let splits: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("splits.json")).unwrap()).unwrap();
    assert_eq!(splits["train"], serde_json::json!(["run_1", "run_3"]));
    assert_eq!(splits["val"], serde_json::json!(["run_2"]));
    assert_eq!(splits["test"], serde_json::json!([]));
}

/// A legacy ASCII VTK file of `points` and `cells` with the given point arrays, as the public
/// datasets ship them (slipstream itself writes no legacy VTK): polydata with the arrays in a
/// FIELD block (DrivAerNet++'s surfaces), or with `grid_type` an unstructured grid of that cell
/// type with SCALARS / VECTORS arrays (ShapeNet-Car's quads and hexahedra).
fn write_legacy(
    path: &Path,
    grid_type: Option<u8>,
    points: &[[f32; 3]],
    cells: &[Vec<u32>],
    arrays: &[Field],
) {
    use std::fmt::Write;
    let dataset = grid_type.map_or("POLYDATA", |_| "UNSTRUCTURED_GRID");
    let mut t = format!("# vtk DataFile Version 4.2\ntest\nASCII\nDATASET {dataset}\n");
    writeln!(t, "POINTS {} float", points.len()).unwrap();
    for p in points {
        writeln!(t, "{} {} {}", p[0], p[1], p[2]).unwrap();
    }
    let size: usize = cells.iter().map(|c| c.len() + 1).sum();
    let section = grid_type.map_or("POLYGONS", |_| "CELLS");
    writeln!(t, "{section} {} {size}", cells.len()).unwrap();
    for c in cells {
        let ids: Vec<String> = c.iter().map(|i| i.to_string()).collect();
        writeln!(t, "{} {}", c.len(), ids.join(" ")).unwrap();
    }
    if let Some(vtk_type) = grid_type {
        writeln!(t, "CELL_TYPES {}", cells.len()).unwrap();
        for _ in cells {
            writeln!(t, "{vtk_type}").unwrap();
        }
    }
    writeln!(t, "POINT_DATA {}", points.len()).unwrap();
    if grid_type.is_none() {
        writeln!(t, "FIELD FieldData {}", arrays.len()).unwrap();
    }
    for a in arrays {
        match (grid_type, a.components) {
            (None, c) => writeln!(t, "{} {c} {} float", a.name, points.len()).unwrap(),
            (Some(_), 1) => {
                writeln!(t, "SCALARS {} float 1\nLOOKUP_TABLE default", a.name).unwrap()
            }
            (Some(_), _) => writeln!(t, "VECTORS {} float", a.name).unwrap(),
        }
        let values: Vec<String> = a.values.iter_f64().map(|v| format!("{v:e}")).collect();
        writeln!(t, "{}", values.join(" ")).unwrap();
    }
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, t).unwrap();
}

/// DrivAerNet++ as unzipped: designs spread over PressureVTK/, WallShearStressVTK_Updated/ (the
/// same points in another order), CFD/<category>_part<k>/ and 3DMeshesSTL/, one category nested
/// a level deeper, and the two dataset-wide CSVs. Built from the VTK-written legacy fixtures.
#[test]
fn drivaernet_designs_prepare_from_their_three_folders() {
    let Some(fixtures) = common::fixtures_dir() else {
        return;
    };
    let synthetic = fixtures.join("synthetic");
    let m = common::load_manifest(&synthetic);
    let facts = &m["files"]["surface_f32_legacy_v42_binary.vtk"];
    let (fixture, faces) = fixture_surface(&synthetic);
    let point = |name: &str| {
        fixture
            .field(slipstream::mesh::Location::Point, name)
            .unwrap()
            .clone()
    };
    let (p, tau) = (point("p"), point("wallShearStress"));
    // The wall-shear file: the same points reversed, faces renumbered to match.
    let n = fixture.points.len() as u32;
    let reversed: Vec<[f32; 3]> = fixture.points.iter().rev().copied().collect();
    let reversed_faces: Vec<Vec<u32>> = faces
        .iter()
        .map(|f| f.iter().map(|&i| n - 1 - i).collect())
        .collect();
    let tau_values: Vec<f64> = tau.values.iter_f64().collect();
    let reversed_tau: Vec<f32> = (0..n as usize)
        .rev()
        .flat_map(|i| (0..3).map(move |k| (i, k)))
        .map(|(i, k)| tau_values[3 * i + k] as f32)
        .collect();
    let volume_text = std::fs::read_to_string(synthetic.join("volume_f32_legacy_v42_ascii.vtk"))
        .unwrap()
        .replace("UMeanTrim ", "U ")
        .replace("pMeanTrim ", "p ");

    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("drivaernet");
    let design = |category: &str, id: &str, nested: bool, wss_points: &[[f32; 3]]| {
        let base = if nested {
            src.join("pressure").join(category)
        } else {
            src.clone()
        };
        write_legacy(
            &base.join(format!("PressureVTK/{category}/{id}.vtk")),
            None,
            &fixture.points,
            &faces,
            std::slice::from_ref(&p),
        );
        write_legacy(
            &src.join(format!("WallShearStressVTK_Updated/{category}/{id}.vtk")),
            None,
            wss_points,
            &reversed_faces,
            &[Field::new_f32("wallShearStress", 3, reversed_tau.clone())],
        );
    };
    let volume = |category: &str, id: &str| {
        let path = src.join(format!("CFD/{category}_part1/{id}.vtk"));
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, &volume_text).unwrap();
    };
    // Prepared: one with an STL and a tabled area, one nested without either.
    design("N_S_WWS_WM", "N_S_WWS_WM_001", false, &reversed);
    volume("N_S_WWS_WM", "N_S_WWS_WM_001");
    copy(
        &synthetic.join("surface_binary.stl"),
        &src.join("3DMeshesSTL/N_S_WWS_WM/N_S_WWS_WM_001.stl"),
    );
    design("F_D_WM_WW_1", "F_D_WM_WW_0002", true, &reversed);
    volume("F_D_WM_WW_1", "F_D_WM_WW_0002");
    // Broken: no volume; not in the drag table; a wall-shear file on another mesh.
    design("N_S_WWS_WM", "N_S_WWS_WM_003", false, &reversed);
    design("N_S_WWS_WM", "N_S_WWS_WM_004", false, &reversed);
    volume("N_S_WWS_WM", "N_S_WWS_WM_004");
    // A BINARY volume, as foamToVTK writes them: streamed rather than read whole.
    design("E_S_WW_WM", "E_S_WW_WM_006", false, &reversed);
    let binary = std::fs::read(synthetic.join("volume_f32_legacy_v42_binary.vtk")).unwrap();
    let renamed = replace_bytes(
        &replace_bytes(&binary, b"\nUMeanTrim 3 ", b"\nU 3 "),
        b"\npMeanTrim 1 ",
        b"\np 1 ",
    );
    let binary_volume = src.join("CFD/E_S_WW_WM_part2/E_S_WW_WM_006.vtk");
    std::fs::create_dir_all(binary_volume.parent().unwrap()).unwrap();
    std::fs::write(&binary_volume, renamed).unwrap();
    let mut moved = reversed.clone();
    moved[7][2] += 0.01;
    design("N_S_WWS_WM", "N_S_WWS_WM_005", false, &moved);
    volume("N_S_WWS_WM", "N_S_WWS_WM_005");

    // `--runs` is for numbered runs; without the drag table nothing prepares.
    let out = dir.path().join("prepared");
    let numbered = Command::new(env!("CARGO_BIN_EXE_slipstream"))
        .args([
            "prepare",
            "--layout",
            "drivaernet",
            "--runs",
            "1-3",
            "--src",
        ])
        .arg(&src)
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    assert_eq!(numbered.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&numbered.stderr).contains("--shard"));
    let no_table = prepare("drivaernet", &src, &out);
    assert_eq!(no_table.status.code(), Some(2));
    let text = String::from_utf8_lossy(&no_table.stderr);
    assert!(
        text.contains("DrivAerNetPlusPlus_Cd_8k_Updated.csv"),
        "{text}"
    );

    std::fs::write(
        src.join("DrivAerNetPlusPlus_Cd_8k_Updated.csv"),
        "Design,Average Cd\nN_S_WWS_WM_001,0.2734\nF_D_WM_WW_0002,0.2551\nN_S_WWS_WM_003,0.3\nN_S_WWS_WM_005,0.3\nE_S_WW_WM_006,0.31\n",
    )
    .unwrap();
    std::fs::create_dir_all(src.join("tables")).unwrap();
    std::fs::write(
        src.join("tables/DrivAerNetPlusPlus_CarDesign_Areas.csv"),
        "Car Design,Frontal Area (m²)\nN_S_WWS_WM_001,2.1732\n",
    )
    .unwrap();
    let lists = dir.path().join("train_val_test_splits");
    std::fs::create_dir_all(&lists).unwrap();
    std::fs::write(
        lists.join("train_design_ids.txt"),
        "N_S_WWS_WM_001\nN_S_WWS_WM_005\n",
    )
    .unwrap();
    std::fs::write(lists.join("val_design_ids.txt"), "").unwrap();
    std::fs::write(lists.join("test_design_ids.txt"), "F_D_WM_WW_0002\n").unwrap();
    let result = Command::new(env!("CARGO_BIN_EXE_slipstream"))
        .args([
            "prepare",
            "--layout",
            "drivaernet",
            "--geometry-points",
            "2000",
        ])
        .args(["--jobs", "2", "--json", "--split"])
        .arg(&lists)
        .arg("--src")
        .arg(&src)
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&result.stderr);
    assert_eq!(result.status.code(), Some(1), "{stderr}");
    let report: serde_json::Value = serde_json::from_slice(&result.stdout).unwrap();
    let outcome = |run: &str| -> (String, String) {
        let o = report
            .as_array()
            .unwrap()
            .iter()
            .find(|o| o["run"] == run)
            .unwrap_or_else(|| panic!("{run} missing from {report}"));
        (
            o["status"].as_str().unwrap().to_string(),
            o["reason"].as_str().unwrap_or("").to_string(),
        )
    };
    assert_eq!(outcome("N_S_WWS_WM_001").0, "prepared", "{stderr}");
    assert_eq!(outcome("F_D_WM_WW_0002").0, "prepared", "{stderr}");
    let (status, reason) = outcome("N_S_WWS_WM_003");
    assert!(status == "broken" && reason.contains("volume"), "{reason}");
    let (status, reason) = outcome("N_S_WWS_WM_004");
    assert!(
        status == "broken" && reason.contains("Average Cd") && reason.contains("_Cd_8k"),
        "{reason}"
    );
    let (status, reason) = outcome("N_S_WWS_WM_005");
    assert!(
        status == "broken" && reason.contains("different meshes"),
        "{reason}"
    );
    // The lists place the prepared designs; the broken one they name is absent.
    let splits: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("splits.json")).unwrap()).unwrap();
    assert_eq!(splits["train"], serde_json::json!(["N_S_WWS_WM_001"]));
    assert_eq!(splits["test"], serde_json::json!(["F_D_WM_WW_0002"]));

    let run = PreparedRun::read(&out.join("N_S_WWS_WM_001.h5")).unwrap();
    assert_fixture_surface(&run, facts);
    // Pressure: each face's mean of its points. Wall shear: carried from the reversed file by
    // matching points, then negated (OpenFOAM stores −τ); a lost permutation would not match.
    let p_values: Vec<f64> = p.values.iter_f64().collect();
    let mut max_err = 0.0f64;
    for (c, f) in faces.iter().enumerate() {
        let mean = |v: &dyn Fn(usize) -> f64| {
            f.iter().map(|&i| v(i as usize)).sum::<f64>() / f.len() as f64
        };
        max_err =
            max_err.max((run.surface_pressure[c] as f64 - mean(&|i| p_values[i])).abs() / 400.0);
        for k in 0..3 {
            let want = -mean(&|i| tau_values[3 * i + k]);
            max_err = max_err.max((run.surface_wall_shear[3 * c + k] as f64 - want).abs() / 2.0);
        }
    }
    assert!(
        max_err < 1e-6,
        "cell values off by {max_err} of their scale"
    );
    let shear_x: f64 = run
        .surface_wall_shear
        .chunks_exact(3)
        .map(|t| t[0] as f64)
        .sum();
    assert!(shear_x < 0.0 && facts["arrays"][1]["component_sum"][0].as_f64().unwrap() > 0.0);
    // DrivAerNet++'s conditions and the tables' values.
    assert_eq!(run.meta.pressure_kind.name(), "kinematic");
    assert_eq!(
        (
            run.meta.reference.density_kg_m3,
            run.meta.reference.speed_m_s,
            run.meta.reference.area_m2
        ),
        (1.2, 30.0, 2.1732)
    );
    assert_eq!((run.meta.cd, run.meta.cl), (Some(0.2734), None));
    let bbox = &facts["bounding_box"];
    let length = bbox["max"][0].as_f64().unwrap() - bbox["min"][0].as_f64().unwrap();
    assert!(common::close(run.meta.reference.length_m, length, 1e-6));
    // Cd with ρ = 1.2, U∞ = 30, A = 2.1732 by hand: ρ Σ(−p n_x + τ_x) A / (½ ρ U² A_ref).
    let fx: f64 = (0..run.surface_len())
        .map(|c| {
            (-(run.surface_pressure[c] as f64) * run.surface_normal[3 * c] as f64
                + run.surface_wall_shear[3 * c] as f64)
                * run.surface_area[c] as f64
        })
        .sum();
    let by_hand = 1.2 * fx / (0.5 * 1.2 * 30.0 * 30.0 * 2.1732);
    let forces = slipstream::physics::integrate(
        &run.loads_with(&run.surface_pressure, &run.surface_wall_shear),
        run.meta.pressure_kind,
        &run.meta.reference,
        [0.0; 3],
    )
    .unwrap();
    let c = slipstream::physics::coefficients(&forces, &run.meta.reference, run.meta.axes);
    assert!(common::close(c.cd, by_hand, 1e-9), "{} vs {by_hand}", c.cd);
    // The volume's cell arrays as VTK wrote them; vorticity computed from the velocity.
    let vol = mesh::read_mesh(&synthetic.join("volume_f32_legacy_v42_ascii.vtk")).unwrap();
    let u = vol
        .field(slipstream::mesh::Location::Cell, "UMeanTrim")
        .unwrap();
    assert_eq!(run.volume_velocity, u.values.to_f32().into_owned());
    assert_eq!(run.volume_vorticity.len(), run.volume_velocity.len());
    assert!(run.volume_vorticity.iter().any(|w| *w != 0.0));

    // Not in the area table: the frontal area projected from the surface, between the
    // inscribed ellipse and the box of its width and height.
    let nested = PreparedRun::read(&out.join("F_D_WM_WW_0002.h5")).unwrap();
    let extent = |k: usize| bbox["max"][k].as_f64().unwrap() - bbox["min"][k].as_f64().unwrap();
    let box_area = extent(1) * extent(2);
    let a = nested.meta.reference.area_m2;
    eprintln!("projected frontal area {a:.4} m² in a {box_area:.4} m² box");
    assert!(a > 0.78 * box_area && a < box_area, "{a} vs box {box_area}");
    assert_eq!(nested.meta.cd, Some(0.2551));
    assert_eq!(nested.volume_velocity, run.volume_velocity);

    // The streamed BINARY volume gives what the whole read of the ASCII copy gives.
    assert_eq!(outcome("E_S_WW_WM_006").0, "prepared", "{stderr}");
    let streamed = PreparedRun::read(&out.join("E_S_WW_WM_006.h5")).unwrap();
    let near = |a: &[f32], b: &[f32], what: &str| {
        assert_eq!(a.len(), b.len(), "{what}");
        let scale = b.iter().fold(0f32, |m, v| m.max(v.abs())).max(1e-6);
        let worst = a.iter().zip(b).fold(0f32, |m, (x, y)| m.max((x - y).abs()));
        assert!(worst <= 1e-5 * scale, "{what}: off by {worst} of {scale}");
    };
    near(&streamed.volume_position, &run.volume_position, "positions");
    near(&streamed.volume_velocity, &run.volume_velocity, "velocity");
    near(&streamed.volume_pressure, &run.volume_pressure, "pressure");
    // The vorticity follows from those; against the whole read of the same BINARY file (the
    // ASCII copy's rounded coordinates reorder equidistant neighbours of the least squares).
    let whole = mesh::read_mesh(&binary_volume).unwrap();
    let centres = slipstream::geometry::cell_centres(&whole);
    let velocity = whole
        .field(slipstream::mesh::Location::Cell, "U")
        .unwrap()
        .values
        .to_f32()
        .into_owned();
    let curl = slipstream::geometry::gradient::curl_least_squares(&centres, &velocity);
    near(&streamed.volume_vorticity, &curl, "vorticity");
}

/// `bytes` with every `from` replaced by `to`.
fn replace_bytes(bytes: &[u8], from: &[u8], to: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i..].starts_with(from) {
            out.extend_from_slice(to);
            i += from.len();
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    out
}

/// ShapeNet-Car's training_data/param<k>/<hash>/ folders built from the VTK-written fixtures:
/// the surface as an unstructured grid with the pressure as point scalars and points no face
/// uses (as the real files have), the volume's hexahedra with the velocity as point vectors.
/// Wall shear and volume pressure are recorded as absent, flow is +z and y up, the geometry
/// comes from the surface, and a car without its surface file is broken while the rest prepare.
#[test]
fn shapenet_car_folders_prepare_with_their_absent_fields() {
    let Some(fixtures) = common::fixtures_dir() else {
        return;
    };
    let synthetic = fixtures.join("synthetic");
    let m = common::load_manifest(&synthetic);
    let facts = &m["files"]["surface_f32_legacy_v42_binary.vtk"];
    let (fixture, faces) = fixture_surface(&synthetic);
    let p: Vec<f64> = fixture
        .field(slipstream::mesh::Location::Point, "p")
        .unwrap()
        .values
        .iter_f64()
        .collect();
    // 96 points no face uses, far outside the body and with absurd pressures: neither the
    // areas, the references nor the pressure may notice them.
    let mut points = fixture.points.clone();
    let mut pressure: Vec<f32> = p.iter().map(|v| *v as f32).collect();
    for k in 0..96 {
        points.push([50.0 + k as f32, 40.0, -30.0]);
        pressure.push(1e6);
    }
    let vol = mesh::read_mesh(&synthetic.join("volume_f32_legacy_v42_ascii.vtk")).unwrap();
    let hexes: Vec<Vec<u32>> = (0..vol.n_cells())
        .filter(|&c| vol.cells.types[c] == slipstream::mesh::CellType::HEXAHEDRON)
        .map(|c| vol.cells.cell(c).to_vec())
        .collect();
    let u: Vec<f64> = vol
        .field(slipstream::mesh::Location::Point, "UMeanTrim")
        .unwrap()
        .values
        .iter_f64()
        .collect();

    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("shapenet");
    for car in ["param0/0a1b", "param1/2c3d", "param1/4e5f"] {
        let car_dir = src.join("training_data").join(car);
        write_legacy(
            &car_dir.join("hexvelo_smpl.vtk"),
            Some(12),
            &vol.points,
            &hexes,
            &[Field::new_f32(
                "velocity",
                3,
                u.iter().map(|v| *v as f32).collect(),
            )],
        );
        if car == "param0/0a1b" {
            // The raw release's drag value of unpublished definition.
            std::fs::write(car_dir.join("cd.txt"), "0.3123\n").unwrap();
        }
        if car != "param1/4e5f" {
            write_legacy(
                &car_dir.join("quadpress_smpl.vtk"),
                Some(5),
                &points,
                &faces,
                &[Field::new_f32("pressure", 1, pressure.clone())],
            );
        }
    }
    let out = dir.path().join("prepared");
    let result = Command::new(env!("CARGO_BIN_EXE_slipstream"))
        .args([
            "prepare",
            "--layout",
            "shapenet-car",
            "--geometry-points",
            "2000",
        ])
        .args(["--json", "--split", "shapenet-param0", "--src"])
        .arg(&src)
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&result.stderr);
    assert_eq!(result.status.code(), Some(1), "{stderr}");
    let report: serde_json::Value = serde_json::from_slice(&result.stdout).unwrap();
    let outcome = |run: &str| {
        report
            .as_array()
            .unwrap()
            .iter()
            .find(|o| o["run"] == run)
            .unwrap_or_else(|| panic!("{run} missing from {report}"))
            .clone()
    };
    assert_eq!(outcome("param0_0a1b")["status"], "prepared", "{stderr}");
    assert_eq!(outcome("param1_2c3d")["status"], "prepared", "{stderr}");
    let broken = outcome("param1_4e5f");
    assert_eq!(broken["status"], "broken");
    assert!(broken["reason"]
        .as_str()
        .unwrap()
        .contains("quadpress_smpl.vtk"));
    let splits: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("splits.json")).unwrap()).unwrap();
    assert_eq!(splits["test"], serde_json::json!(["param0_0a1b"]));
    assert_eq!(splits["train"], serde_json::json!(["param1_2c3d"]));

    let run = PreparedRun::read(&out.join("param0_0a1b.h5")).unwrap();
    assert_eq!(run.meta.absent, ["surface/wall_shear", "volume/pressure"]);
    // cd.txt is carried as a published value, not as the ground truth; dataset info sets it
    // beside the Cd integrated from the run's own fields.
    assert_eq!((run.meta.cd, run.meta.cl), (None, None));
    assert_eq!(run.meta.cd_published, Some(0.3123));
    let info = Command::new(env!("CARGO_BIN_EXE_slipstream"))
        .args(["dataset", "info", "--json"])
        .arg(&out)
        .output()
        .unwrap();
    let info: serde_json::Value = serde_json::from_slice(&info.stdout).unwrap();
    let published = &info["published_cd"];
    assert_eq!(published["runs"], 1, "{info}");
    assert_eq!(published["published"]["mean"], 0.3123);
    let integrated = published["integrated"]["mean"].as_f64().unwrap();
    assert!(
        integrated.is_finite() && integrated != 0.3123,
        "{published}"
    );
    assert_eq!((run.meta.axes.flow, run.meta.axes.up), (2, 1));
    assert_eq!(
        (
            run.meta.reference.speed_m_s,
            run.meta.reference.density_kg_m3
        ),
        (20.0, 1.2)
    );
    assert_fixture_surface(&run, facts);
    let mut max_err = 0.0f64;
    for (c, f) in faces.iter().enumerate() {
        let mean = f.iter().map(|&i| p[i as usize]).sum::<f64>() / f.len() as f64;
        max_err = max_err.max((run.surface_pressure[c] as f64 - mean).abs() / 400.0);
    }
    assert!(
        max_err < 1e-6,
        "face pressures off by {max_err} of their scale"
    );
    // References from the faces only: length along z, frontal area seen along z (the body's
    // plan view here) between its inscribed ellipse and its bounding rectangle.
    let bbox = &facts["bounding_box"];
    let extent = |k: usize| bbox["max"][k].as_f64().unwrap() - bbox["min"][k].as_f64().unwrap();
    assert!(common::close(run.meta.reference.length_m, extent(2), 1e-6));
    let a = run.meta.reference.area_m2;
    assert!(
        a > 0.78 * extent(0) * extent(1) && a < extent(0) * extent(1),
        "{a}"
    );
    // The geometry is sampled on the faces: inside the body's box, none at the stray points.
    let inside = |q: &[f32]| {
        (0..3).all(|k| {
            let (lo, hi) = (
                bbox["min"][k].as_f64().unwrap(),
                bbox["max"][k].as_f64().unwrap(),
            );
            (q[k] as f64) >= lo - 1e-4 && (q[k] as f64) <= hi + 1e-4
        })
    };
    assert!(run.geometry_position.chunks_exact(3).all(inside));
    // Velocity: each hexahedron's mean of its corners; vorticity computed from it.
    assert_eq!(run.volume_len(), hexes.len());
    let mut max_err = 0.0f64;
    for (c, h) in hexes.iter().enumerate() {
        for k in 0..3 {
            let mean = h.iter().map(|&i| u[3 * i as usize + k]).sum::<f64>() / 8.0;
            max_err = max_err.max((run.volume_velocity[3 * c + k] as f64 - mean).abs() / 40.0);
        }
    }
    assert!(
        max_err < 1e-6,
        "hexahedron velocities off by {max_err} of their scale"
    );
    assert!(run.volume_vorticity.iter().any(|w| *w != 0.0));
    // Pressure drag by hand with ρ = 1.2, U∞ = 20 and the projected area, along +z.
    let fz: f64 = (0..run.surface_len())
        .map(|c| {
            -(run.surface_pressure[c] as f64)
                * run.surface_normal[3 * c + 2] as f64
                * run.surface_area[c] as f64
        })
        .sum();
    let by_hand = 1.2 * fz / (0.5 * 1.2 * 20.0 * 20.0 * a);
    let forces = slipstream::physics::integrate(
        &run.loads(),
        run.meta.pressure_kind,
        &run.meta.reference,
        [0.0; 3],
    )
    .unwrap();
    let c = slipstream::physics::coefficients(&forces, &run.meta.reference, run.meta.axes);
    assert!(common::close(c.cd, by_hand, 1e-9), "{} vs {by_hand}", c.cd);
}
