//! The burn model computes the reference AB-UPT's function: its weights, its inputs, its outputs.

mod common;

use slipstream::model::parity::{find_cases, run_case, TOLERANCE};
use slipstream::model::Cpu;

fn parity_case(case: &str) {
    let Some(fixtures) = common::fixtures_dir() else {
        return;
    };
    let dir = fixtures.join("abupt_parity");
    assert!(find_cases(&dir).unwrap().contains(&case.to_string()));
    let report = run_case::<Cpu>(&dir, case, TOLERANCE, &Default::default()).unwrap();
    for o in &report.outputs {
        eprintln!(
            "{case} {:<45} max rel {:.3e} (abs {:.3e})",
            o.name, o.max_rel_error, o.max_abs_error
        );
    }
    assert_eq!(report.outputs.len(), 15, "every reference output compared");
    for o in &report.outputs {
        assert!(
            o.max_rel_error <= TOLERANCE,
            "{case}: {} off by {:.3e}",
            o.name,
            o.max_rel_error
        );
    }
    assert_eq!(report.parameters, report.parameters_reference);
    assert!(report.passed);
}

#[test]
fn tiny_matches_the_reference() {
    parity_case("tiny");
}

#[test]
fn full_matches_the_reference_and_has_8_751_179_parameters() {
    parity_case("full");
}
