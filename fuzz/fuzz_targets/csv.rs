//! Any bytes given to the dataset CSV reader give a consistent table or an error; never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(t) = slipstream::data::CsvTable::parse(data, "fuzz.csv") {
        assert!(t.rows.iter().all(|r| r.len() == t.columns.len() && r.iter().all(|v| v.is_finite())));
    }
});
