//! Any bytes given to the obj reader give a mesh that passes validation, or an error; never a panic,
//! a hang or an unbounded allocation.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(mesh) = slipstream::mesh::obj::parse(data) {
        if let Err(e) = mesh.validate() {
            panic!("obj accepted an inconsistent mesh: {e}");
        }
    }
});
