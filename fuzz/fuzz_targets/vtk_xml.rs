//! Any bytes given to the VTK XML reader (whole-file read and the streaming summary `info` uses on
//! large files) give a mesh that passes validation, or an error; never a panic, a hang or an
//! unbounded allocation. Where both succeed they must agree on the counts.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let full = slipstream::mesh::vtk_xml::parse(data);
    if let Ok(mesh) = &full {
        if let Err(e) = mesh.validate() {
            panic!("vtk_xml accepted an inconsistent mesh: {e}");
        }
    }
    if let (Ok(mesh), Ok(summary)) = (&full, slipstream::mesh::vtk_xml::summarize_bytes(data)) {
        assert_eq!(summary.n_points, mesh.n_points() as u64);
        assert_eq!(summary.n_cells, mesh.n_cells() as u64);
    }
});
