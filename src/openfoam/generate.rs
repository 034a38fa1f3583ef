//! `slipstream generate ahmed`: sample a family of bodies, mesh and solve each with OpenFOAM,
//! and write every finished run in the AhmedML file layout plus a `run.json` with what that
//! layout leaves implicit. Resumable: a run with a `run.json` is done and skipped; an
//! unfinished one is wiped and started again.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde::Serialize;

use super::ahmed::{self, AhmedParams};
use super::case::{write_case, CaseSettings, InvalidSettings};
use super::forces;
pub use super::run_error::RunError;
use super::wall::{self, LayerCoverage, YPlus};
use crate::geometry::surface::surface_properties;
use crate::mesh::{self, Location, Mesh};
use crate::physics::{self, PressureKind};

/// Where OpenFOAM's `WM_PROJECT_DIR` may be (Debian's `openfoam` package first).
const PROJECT_DIRS: [&str; 3] = [
    "/usr/share/openfoam",
    "/usr/lib/openfoam/openfoam",
    "/opt/openfoam",
];

/// The tools `generate` runs, checked before any work starts.
const TOOLS: [&str; 5] = [
    "surfaceFeatureExtract",
    "blockMesh",
    "snappyHexMesh",
    "simpleFoam",
    "foamToVTK",
];

#[derive(Debug, thiserror::Error)]
pub enum GenerateError {
    #[error(
        "OpenFOAM is not installed ({0}). slipstream drives OpenFOAM v1912 or newer: on Debian or \
         Ubuntu `sudo apt-get install openfoam`; elsewhere see https://www.openfoam.com/download and put \
         blockMesh, snappyHexMesh, simpleFoam and foamToVTK on PATH (set WM_PROJECT_DIR if they need it)"
    )]
    Missing(String),
    /// Mesh or solver settings that cannot make a case.
    #[error(transparent)]
    Settings(#[from] InvalidSettings),
    /// The output folder could not be made.
    #[error("{}: {source}", .path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

impl GenerateError {
    /// True when the user can fix it (install OpenFOAM, change the settings); false for a
    /// failure while writing or running the cases.
    pub fn is_input_error(&self) -> bool {
        matches!(self, GenerateError::Missing(_) | GenerateError::Settings(_))
    }
}

/// OpenFOAM as found on this machine.
#[derive(Debug, Clone)]
pub struct OpenFoam {
    project_dir: Option<PathBuf>,
}

fn on_path(tool: &str) -> bool {
    std::env::var_os("PATH")
        .map(|paths| std::env::split_paths(&paths).any(|d| d.join(tool).is_file()))
        .unwrap_or(false)
}

impl OpenFoam {
    pub fn find() -> Result<OpenFoam, GenerateError> {
        if let Some(missing) = TOOLS.iter().find(|t| !on_path(t)) {
            return Err(GenerateError::Missing(format!(
                "`{missing}` is not on PATH"
            )));
        }
        let project_dir = std::env::var_os("WM_PROJECT_DIR")
            .map(PathBuf::from)
            .or_else(|| {
                PROJECT_DIRS
                    .iter()
                    .map(PathBuf::from)
                    .find(|d| d.join("etc/controlDict").is_file())
            });
        Ok(OpenFoam { project_dir })
    }

    /// Runs `tool args…` in `case`, output to `case/log.<tool>`; a failure quotes the log's end.
    pub fn run(&self, case: &Path, tool: &str, args: &[&str]) -> Result<(), RunError> {
        self.run_within(case, tool, args, None)
    }

    /// As [`OpenFoam::run`], killing the tool when it runs longer than `limit` (a diverging or
    /// stalled solver must not hold up the rest of a family).
    pub fn run_within(
        &self,
        case: &Path,
        tool: &str,
        args: &[&str],
        limit: Option<Duration>,
    ) -> Result<(), RunError> {
        let log_path = case.join(format!("log.{tool}"));
        let log = std::fs::File::create(&log_path).map_err(|e| RunError::file(&log_path, e))?;
        let err_log = log.try_clone().map_err(|e| RunError::file(&log_path, e))?;
        let mut cmd = Command::new(tool);
        // PWD too: OpenFOAM warns on every line of a stack trace when it disagrees with the
        // working directory.
        cmd.args(args)
            .current_dir(case)
            .env(
                "PWD",
                std::path::absolute(case).unwrap_or_else(|_| case.to_path_buf()),
            )
            .stdout(log)
            .stderr(err_log);
        if let Some(dir) = &self.project_dir {
            cmd.env("WM_PROJECT_DIR", dir);
        }
        let mut child = cmd.spawn().map_err(|source| RunError::Process {
            what: "cannot start",
            tool: tool.to_string(),
            source,
        })?;
        let started = Instant::now();
        let status = loop {
            match child.try_wait() {
                Ok(Some(status)) => break status,
                Ok(None) => {}
                Err(source) => {
                    return Err(RunError::Process {
                        what: "waiting for",
                        tool: tool.to_string(),
                        source,
                    })
                }
            }
            if let Some(limit) = limit.filter(|l| started.elapsed() > *l) {
                let _ = child.kill();
                let _ = child.wait();
                return Err(RunError::TimedOut {
                    tool: tool.to_string(),
                    limit_s: limit.as_secs_f64(),
                    tail: log_tail(&log_path),
                    log: log_path,
                });
            }
            std::thread::sleep(Duration::from_millis(200));
        };
        if status.success() {
            return Ok(());
        }
        Err(RunError::ToolFailed {
            tool: tool.to_string(),
            status: status.to_string(),
            tail: log_tail(&log_path),
            log: log_path,
        })
    }
}

/// The end of a log, indented, for an error message: its last eight non-empty lines, or, when
/// the tool crashed with a stack trace (`#0  Foam::error::printStack…`), the eight before the
/// trace, which say what went wrong (a diverging solver's residuals).
fn log_tail(log_path: &Path) -> String {
    let text = std::fs::read_to_string(log_path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    let end = lines
        .iter()
        .position(|l| l.trim_start().starts_with("#0 "))
        .unwrap_or(lines.len());
    let mut tail = lines[end.saturating_sub(8)..end].join("\n  ");
    if end < lines.len() {
        tail += "\n  (a stack trace follows in the log)";
    }
    tail
}

/// Air density of the generated runs (kg/m³): sea-level air; the solver is incompressible and
/// works in kinematic pressure, so only the prepared run's pascals depend on it.
pub const AIR_DENSITY_KG_M3: f64 = 1.2;

/// What one run records beside the AhmedML files (the stable `run.json` shape in DESIGN.md).
#[derive(Debug, Clone, Serialize)]
pub struct RunRecord {
    pub pressure_kind: &'static str,
    pub density_kg_m3: f64,
    pub speed_m_s: f64,
    pub kinematic_viscosity_m2_s: f64,
    pub ref_area_m2: f64,
    pub ref_length_m: f64,
    pub up_axis: &'static str,
    pub flow_axis: &'static str,
    pub params: AhmedParams,
    pub cells: usize,
    pub iterations: u32,
    pub cd: f64,
    pub cl: f64,
    pub cs: f64,
    pub cd_std: f64,
    pub cd_drift: f64,
    pub converged: bool,
    pub averaged_iterations: usize,
    /// Cd split into its pressure and friction parts, integrated from the averaged boundary
    /// fields written with the run (their sum is forceCoeffs' Cd to within its averaging).
    pub cd_pressure: f64,
    pub cd_viscous: f64,
    /// First-cell y+ on the body at the end of the run.
    pub y_plus: YPlus,
    /// Prism layers snappyHexMesh added on the body (absent without layers).
    pub layer_coverage: Option<LayerCoverage>,
    /// The solver's last initial residual per field.
    pub final_residuals: std::collections::BTreeMap<String, f64>,
    /// Mesh and solver settings the run was made with.
    pub settings: CaseSettings,
    /// Why the first attempt failed, when the run was solved a second time with calmer
    /// relaxation (`settings` are the second attempt's).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_attempt_failed: Option<String>,
    /// Seconds of the attempt that produced this record.
    pub wall_time_s: f64,
    pub solver: &'static str,
}

/// How `generate` went for one run.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum RunOutcome {
    Done {
        run: usize,
        cd: f64,
        converged: bool,
        wall_time_s: f64,
    },
    Skipped {
        run: usize,
    },
    Failed {
        run: usize,
        reason: String,
    },
}

#[derive(Debug, Clone)]
pub struct GenerateConfig {
    pub count: usize,
    pub out: PathBuf,
    pub jobs: usize,
    pub seed: u64,
    /// Number of the first run folder (`run_{first_run}`), so that a second family can be
    /// numbered after an existing one.
    pub first_run: usize,
    pub stilts: bool,
    pub settings: CaseSettings,
    /// Physical density (kg/m³) recorded for turning kinematic values into pascals.
    pub density_kg_m3: f64,
    /// Explicit bodies instead of the Latin hypercube (e.g. Ahmed's reference body at given slant
    /// angles, for validation).
    pub bodies: Option<Vec<AhmedParams>>,
    /// The longest one OpenFOAM tool may run in one run before the run is stopped and reported
    /// as failed (`None`: no limit).
    pub tool_time_limit: Option<Duration>,
    /// Runs (by number) to solve again even though they finished, with this invocation's
    /// settings; their earlier outputs move to `run_<i>/previous/`. Non-empty: only these runs
    /// are touched.
    pub redo: Vec<usize>,
}

/// Moves a finished run's outputs into `dir/previous/` (`previous-2`, … when that exists), so
/// that solving it again loses nothing; the run folder is left with only its earlier outputs.
pub fn set_aside(dir: &Path) -> Result<PathBuf, RunError> {
    let mut target = dir.join("previous");
    let mut k = 1;
    while target.exists() {
        k += 1;
        target = dir.join(format!("previous-{k}"));
    }
    let entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(io(dir))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            !p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("previous"))
        })
        .collect();
    std::fs::create_dir(&target).map_err(io(&target))?;
    for from in entries {
        if let Some(name) = from.file_name() {
            let to = target.join(name);
            std::fs::rename(&from, &to).map_err(io(&from))?;
        }
    }
    Ok(target)
}

/// Runs the whole family; `progress` is told about each finished run.
pub fn generate(
    config: &GenerateConfig,
    progress: impl Fn(&RunOutcome) + Sync,
) -> Result<Vec<RunOutcome>, GenerateError> {
    config.settings.check()?;
    let foam = OpenFoam::find()?;
    std::fs::create_dir_all(&config.out).map_err(|source| GenerateError::Io {
        path: config.out.clone(),
        source,
    })?;
    let family = match &config.bodies {
        Some(bodies) => bodies.clone(),
        None => ahmed::sample(config.count, config.seed, config.stilts),
    };
    let next = AtomicUsize::new(0);
    let outcomes = Mutex::new(Vec::new());
    std::thread::scope(|scope| {
        for _ in 0..config.jobs.max(1) {
            scope.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::SeqCst);
                let Some(params) = family.get(i) else { break };
                let run = config.first_run + i;
                let dir = config.out.join(format!("run_{run}"));
                let redo = config.redo.contains(&run);
                if !config.redo.is_empty() && !redo {
                    continue;
                }
                let aside = match redo && dir.join("run.json").is_file() {
                    true => set_aside(&dir).map(|_| ()),
                    false => Ok(()),
                };
                let outcome = if let Err(e) = aside {
                    RunOutcome::Failed {
                        run,
                        reason: e.to_string(),
                    }
                } else if dir.join("run.json").is_file() {
                    RunOutcome::Skipped { run }
                } else if let Err(e) = enough_space(&config.out, free_bytes(&config.out)) {
                    RunOutcome::Failed {
                        run,
                        reason: e.to_string(),
                    }
                } else {
                    match run_with_retry(&foam, &dir, run, params, config) {
                        Ok(r) => RunOutcome::Done {
                            run,
                            cd: r.cd,
                            converged: r.converged,
                            wall_time_s: r.wall_time_s,
                        },
                        Err(e) => {
                            let reason = e.to_string();
                            let _ = std::fs::write(dir.join("FAILED"), &reason);
                            RunOutcome::Failed { run, reason }
                        }
                    }
                };
                progress(&outcome);
                if let Ok(mut o) = outcomes.lock() {
                    o.push(outcome);
                }
            });
        }
    });
    let mut outcomes = outcomes.into_inner().unwrap_or_default();
    outcomes.sort_by_key(|o| match o {
        RunOutcome::Done { run, .. }
        | RunOutcome::Skipped { run }
        | RunOutcome::Failed { run, .. } => *run,
    });
    Ok(outcomes)
}

/// Space a run needs while it solves (its case holds the mesh, the fields of two time steps and
/// the VTK conversion; a finished 150k-cell run keeps about 100 MB, a run in flight several times
/// that). A full disk mid-run loses that run and whatever else writes there, so a run is not
/// started below this.
pub const MIN_FREE_BYTES: u64 = 2 << 30;

/// Free bytes on the file system holding `path`, where the platform says.
pub fn free_bytes(path: &Path) -> Option<u64> {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        use std::os::unix::ffi::OsStrExt;
        let c_path = std::ffi::CString::new(path.as_os_str().as_bytes()).ok()?;
        let mut stat = std::mem::MaybeUninit::<libc::statvfs>::uninit();
        // SAFETY: `c_path` is a valid NUL-terminated string and `stat` a writable statvfs.
        let rc = unsafe { libc::statvfs(c_path.as_ptr(), stat.as_mut_ptr()) };
        if rc != 0 {
            return None;
        }
        // SAFETY: statvfs returned 0, so it filled `stat`.
        let stat = unsafe { stat.assume_init() };
        // The field types are u64 on 64-bit glibc and narrower on 32-bit targets.
        #[allow(clippy::unnecessary_cast)]
        Some(stat.f_bavail as u64 * stat.f_frsize as u64)
    }
    #[cfg(not(all(target_os = "linux", target_env = "gnu")))]
    {
        let _ = path;
        None
    }
}

/// Refuses a run when `free` bytes (unknown: allowed) are below [`MIN_FREE_BYTES`].
pub fn enough_space(out: &Path, free: Option<u64>) -> Result<(), RunError> {
    match free {
        Some(free) if free < MIN_FREE_BYTES => Err(RunError::NoSpace(format!(
            "{:.1} GB free on the disk holding {}, and a run needs {:.0} GB while it \
             solves; free some space and run the same command again (finished runs are kept)",
            free as f64 / 1e9,
            out.display(),
            MIN_FREE_BYTES as f64 / 1e9
        ))),
        _ => Ok(()),
    }
}

fn io<E: std::fmt::Display>(path: &Path) -> impl Fn(E) -> RunError + '_ {
    move |e| RunError::file(path, e)
}

/// [`run_one`], and when the solver diverges, once more with calmer under-relaxation
/// ([`CaseSettings::calmer`]); `run.json` then records the first failure and the settings that
/// ran. A run that fails twice reports both reasons.
pub fn run_with_retry(
    foam: &OpenFoam,
    dir: &Path,
    run: usize,
    p: &AhmedParams,
    config: &GenerateConfig,
) -> Result<RunRecord, RunError> {
    let first = match run_one(foam, dir, run, p, config, None) {
        Err(e) if e.solver_diverged() => e,
        other => return other,
    };
    let Some(calmer) = config.settings.calmer() else {
        return Err(first);
    };
    let retry = GenerateConfig {
        settings: calmer,
        ..config.clone()
    };
    run_one(foam, dir, run, p, &retry, Some(&first.to_string())).map_err(|second| {
        RunError::FailedTwice {
            first: Box::new(first),
            second: Box::new(second),
            relax_u: calmer.relax_u,
            relax_turbulence: calmer.relax_turbulence,
        }
    })
}

/// Meshes, solves and converts one body. `earlier_failure` is the reason a first attempt
/// failed, recorded in `run.json` when this one succeeds.
pub fn run_one(
    foam: &OpenFoam,
    dir: &Path,
    run: usize,
    p: &AhmedParams,
    config: &GenerateConfig,
    earlier_failure: Option<&str>,
) -> Result<RunRecord, RunError> {
    let started = Instant::now();
    let s = &config.settings;
    let case = dir.join("case");
    if case.exists() {
        std::fs::remove_dir_all(&case).map_err(io(&case))?;
    }
    let _ = std::fs::remove_file(dir.join("FAILED"));
    write_case(&case, p, s).map_err(|e| RunError::file(&case, e))?;
    let limit = config.tool_time_limit;
    foam.run_within(&case, "surfaceFeatureExtract", &[], limit)?;
    foam.run_within(&case, "blockMesh", &[], limit)?;
    foam.run_within(&case, "snappyHexMesh", &["-overwrite"], limit)?;
    foam.run_within(&case, "simpleFoam", &[], limit)?;
    foam.run_within(
        &case,
        "foamToVTK",
        &[
            "-latestTime",
            "-no-point-data",
            "-fields",
            "(pMean UMean wallShearStressMean vorticityMean)",
        ],
        limit,
    )?;

    let coefficients_path = case.join("postProcessing/forceCoeffs/0/coefficient.dat");
    let text = std::fs::read_to_string(&coefficients_path).map_err(io(&coefficients_path))?;
    let settled = forces::parse(&text, &coefficients_path)?.settle(s.average_last as usize, 0.01);

    let vtk = latest_vtk_dir(&case.join("VTK"))?;
    let boundary = keep_fields(
        mesh::read_mesh(&vtk.join("boundary/body.vtp"))?,
        &[("pMean", "p"), ("wallShearStressMean", "wallShearStress")],
        &vtk.join("boundary/body.vtp"),
    )?;
    let volume = keep_fields(
        mesh::read_mesh(&vtk.join("internal.vtu"))?,
        &[
            ("UMean", "U"),
            ("pMean", "p"),
            ("vorticityMean", "vorticity"),
        ],
        &vtk.join("internal.vtu"),
    )?;
    let cells = volume.n_cells();
    let (cd_pressure, cd_viscous) =
        drag_parts(&boundary, &vtk.join("boundary/body.vtp"), s.speed_m_s, p)?;
    let y_plus_path = case.join("postProcessing/yPlus/0/yPlus.dat");
    let y_plus = wall::parse_y_plus(
        &std::fs::read_to_string(&y_plus_path).map_err(io(&y_plus_path))?,
        "body",
        &y_plus_path,
    )?;
    let read_log = |tool: &str| std::fs::read_to_string(case.join(format!("log.{tool}")));
    let layer_coverage = read_log("snappyHexMesh")
        .ok()
        .and_then(|log| wall::parse_layer_coverage(&log, "body"));
    let final_residuals = read_log("simpleFoam")
        .map(|log| wall::final_residuals(&log))
        .unwrap_or_default();
    mesh::write_mesh(&dir.join(format!("boundary_{run}.vtp")), &boundary)?;
    mesh::write_mesh(&dir.join(format!("volume_{run}.vtu")), &volume)?;
    let stl = case.join("constant/triSurface/body.stl");
    std::fs::copy(&stl, dir.join(format!("ahmed_{run}.stl"))).map_err(io(&stl))?;
    let write = |name: String, text: String| -> Result<(), RunError> {
        let path = dir.join(name);
        Ok(mesh::write_bytes_atomically(&path, text.as_bytes())?)
    };
    write(
        format!("force_mom_{run}.csv"),
        format!("cd,cl,cs\n{},{},{}\n", settled.cd, settled.cl, settled.cs),
    )?;
    write(
        format!("geo_parameters_{run}.csv"),
        format!(
            "{}\n{}\n",
            ahmed::RANGES.map(|r| r.name).join(","),
            p.values().map(|v| v.to_string()).join(",")
        ),
    )?;
    let record = RunRecord {
        pressure_kind: "kinematic",
        density_kg_m3: config.density_kg_m3,
        speed_m_s: s.speed_m_s,
        kinematic_viscosity_m2_s: s.kinematic_viscosity_m2_s,
        ref_area_m2: p.frontal_area_m2(),
        ref_length_m: p.length_m,
        up_axis: "z",
        flow_axis: "x",
        params: *p,
        cells,
        iterations: s.iterations,
        cd: settled.cd,
        cl: settled.cl,
        cs: settled.cs,
        cd_std: settled.cd_std,
        cd_drift: settled.cd_drift,
        converged: settled.converged,
        averaged_iterations: settled.window,
        cd_pressure,
        cd_viscous,
        y_plus,
        layer_coverage,
        final_residuals,
        settings: *s,
        first_attempt_failed: earlier_failure.map(str::to_string),
        wall_time_s: started.elapsed().as_secs_f64(),
        solver: "OpenFOAM simpleFoam (SIMPLEC, k-omega SST, wall functions)",
    };
    // run.json last: its presence marks the run as finished.
    write(
        "run.json".into(),
        serde_json::to_string_pretty(&record)
            .map_err(|e| RunError::file(&dir.join("run.json"), e))?,
    )?;
    Ok(record)
}

/// Pressure and friction parts of Cd from a boundary in OpenFOAM's conventions (kinematic `p`,
/// `wallShearStress` = −traction on the body, patch normals into the body), integrated by
/// [`physics::integrate`] with the normals turned out of the body and the shear negated.
fn drag_parts(
    boundary: &Mesh,
    boundary_path: &Path,
    speed_m_s: f64,
    p: &AhmedParams,
) -> Result<(f64, f64), RunError> {
    let mut props = surface_properties(boundary);
    props.orient_outward();
    let field = |name: &str| {
        boundary
            .field(Location::Cell, name)
            .map(|f| f.values.to_f32().into_owned())
            .ok_or_else(|| RunError::file(boundary_path, format!("lacks cell array `{name}`")))
    };
    let (pressure, wss) = (field("p")?, field("wallShearStress")?);
    let normal: Vec<f32> = props
        .cell_normal
        .iter()
        .flatten()
        .map(|c| *c as f32)
        .collect();
    let area_m2: Vec<f32> = props.cell_area_m2.iter().map(|a| *a as f32).collect();
    let shear: Vec<f32> = wss.iter().map(|t| -t).collect();
    let loads = physics::SurfaceLoads {
        normal: &normal,
        area_m2: &area_m2,
        pressure: &pressure,
        shear: &shear,
        position_m: &[],
    };
    let reference = physics::Reference {
        density_kg_m3: 1.0,
        speed_m_s,
        area_m2: p.frontal_area_m2(),
        length_m: p.length_m,
    };
    let forces = physics::integrate(&loads, PressureKind::Kinematic, &reference, [0.0; 3])
        .map_err(|e| RunError::file(boundary_path, e))?;
    let q_a = reference.dynamic_pressure_pa() * reference.area_m2;
    Ok((
        forces.pressure_force_n[0] / q_a,
        forces.shear_force_n[0] / q_a,
    ))
}

/// `VTK/<case>_<time>` with the largest time.
fn latest_vtk_dir(vtk: &Path) -> Result<PathBuf, RunError> {
    let mut best: Option<(f64, PathBuf)> = None;
    for entry in std::fs::read_dir(vtk).map_err(io(vtk))?.flatten() {
        let name = entry.file_name().to_string_lossy().to_string();
        if let Some(t) = name.rsplit('_').next().and_then(|t| t.parse::<f64>().ok()) {
            if entry.path().is_dir() && best.as_ref().is_none_or(|(b, _)| t > *b) {
                best = Some((t, entry.path()));
            }
        }
    }
    best.map(|(_, p)| p)
        .ok_or_else(|| RunError::file(vtk, "foamToVTK wrote no time folder"))
}

/// Keeps only the named cell arrays of `m` (read from `path`), renamed to the layout's names;
/// point data is dropped.
fn keep_fields(mut m: Mesh, names: &[(&str, &str)], path: &Path) -> Result<Mesh, RunError> {
    let mut kept = Vec::new();
    for (from, to) in names {
        let pos = m
            .cell_data
            .iter()
            .position(|f| f.name == *from)
            .ok_or_else(|| {
                RunError::file(path, format!("foamToVTK output lacks cell array `{from}`"))
            })?;
        let mut f = m.cell_data.swap_remove(pos);
        f.name = (*to).to_string();
        kept.push(f);
    }
    m.cell_data = kept;
    m.point_data.clear();
    m.field_data.clear();
    Ok(m)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_run_set_aside_keeps_every_file_and_earlier_set_asides() {
        let dir = tempfile::tempdir().unwrap();
        let run = dir.path().join("run_34");
        std::fs::create_dir_all(run.join("case/constant")).unwrap();
        std::fs::write(run.join("run.json"), "{}").unwrap();
        std::fs::write(run.join("case/constant/x"), "mesh").unwrap();
        let first = set_aside(&run).unwrap();
        assert_eq!(first, run.join("previous"));
        assert!(!run.join("run.json").exists() && !run.join("case").exists());
        assert_eq!(
            std::fs::read_to_string(first.join("run.json")).unwrap(),
            "{}"
        );
        assert_eq!(
            std::fs::read_to_string(first.join("case/constant/x")).unwrap(),
            "mesh"
        );
        // A second redo keeps the first one's outputs where they are.
        std::fs::write(run.join("run.json"), "{\"second\": true}").unwrap();
        let second = set_aside(&run).unwrap();
        assert_eq!(second, run.join("previous-2"));
        assert!(first.join("run.json").is_file());
        assert!(second.join("run.json").is_file() && !run.join("run.json").exists());
    }

    #[test]
    fn only_a_crashed_solver_counts_as_diverged() {
        let failed = |tool: &str| RunError::ToolFailed {
            tool: tool.into(),
            status: "signal: 8 (SIGFPE)".into(),
            log: PathBuf::from(format!("run_2/case/log.{tool}")),
            tail: String::new(),
        };
        assert!(failed("simpleFoam").solver_diverged());
        assert!(failed("simpleFoam").to_string().starts_with(
            "simpleFoam failed (signal: 8 (SIGFPE)); end of run_2/case/log.simpleFoam:"
        ));
        let timed_out = RunError::TimedOut {
            tool: "simpleFoam".into(),
            limit_s: 5400.0,
            log: PathBuf::from("run_2/case/log.simpleFoam"),
            tail: String::new(),
        };
        assert!(!timed_out.solver_diverged());
        assert!(!failed("snappyHexMesh").solver_diverged());
    }

    #[test]
    fn a_crash_is_quoted_by_what_the_solver_said_before_its_stack_trace() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("log.simpleFoam");
        let mut text = String::from("Time = 15\n\n");
        text += "smoothSolver:  Solving for Ux, Initial residual = 0.8, Final residual = 143.4, No Iterations 1000\n";
        text += "#0  Foam::error::printStack(Foam::Ostream&) at ??:?\n#1  Foam::sigFpe::sigHandler(int) at ??:?\n";
        text += "#2  ? in /lib/x86_64-linux-gnu/libc.so.6\n";
        std::fs::write(&log, text).unwrap();
        let tail = log_tail(&log);
        assert!(tail.contains("Final residual = 143.4"), "{tail}");
        assert!(
            tail.contains("stack trace follows") && !tail.contains("sigHandler"),
            "{tail}"
        );
        std::fs::write(&log, "a\nb\n\nc\n").unwrap();
        assert_eq!(log_tail(&log), "a\n  b\n  c");
    }

    #[test]
    fn runs_are_not_started_on_a_nearly_full_disk() {
        let out = Path::new("/data/runs");
        let err = enough_space(out, Some(500 << 20)).unwrap_err().to_string();
        assert!(
            err.contains("0.5 GB free") && err.contains("/data/runs"),
            "{err}"
        );
        assert!(enough_space(out, Some(MIN_FREE_BYTES)).is_ok());
        assert!(enough_space(out, None).is_ok());
        if cfg!(all(target_os = "linux", target_env = "gnu")) {
            let free = free_bytes(&std::env::temp_dir()).expect("statvfs of the temp folder");
            assert!(free > 0);
        }
    }
}
