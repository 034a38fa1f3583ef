//! Any bytes given to the HDF5 reader give datasets and attributes (and, in slipstream's mesh layout,
//! a valid mesh) or an error; never a panic, a hang or an unbounded allocation.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(contents) = slipstream::mesh::hdf5::parse(data) {
        if let Some(Ok(mesh)) = slipstream::mesh::hdf5::mesh_from_contents(&contents) {
            if let Err(e) = mesh.validate() {
                panic!("hdf5 accepted an inconsistent mesh: {e}");
            }
        }
    }
});
