//! Published splits, so that numbers compare with the papers that used them: a `prepare
//! --split NAME` assigns the runs present by these lists (runs a list names but the source
//! lacks, such as DrivAerML's 16 unpublished runs, are simply absent).
//!
//! Sources (run ids only, read from the publishers' repositories):
//! - `abupt`: DrivAerML as AB-UPT split it (400 train / 34 val / 50 test, 16 held back by the
//!   dataset's authors), Emmi-AI/noether `data/datasets/cfd/caeml/drivaerml/split.py`.
//! - `physicsnemo`: DrivAerML as NVIDIA PhysicsNeMo-CFD benchmarks it (436 train / 48 test; their
//!   "validation" list is the test set), physicsnemo-cfd `workflows/benchmarking/drivaer_ml_files`.
//! - `shapenet-param0`: ShapeNet-Car as Transolver and GINO use it: the `param0` folder is the
//!   test set (100 cars), `param1`–`param8` train.
//!
//! Splits too long to carry here (DrivAerNet++'s 8,121 design ids) are read from the publisher's
//! list files instead ([`from_lists`]).

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use super::stats::Splits;
use super::DataError;

const DRIVAERML_ABUPT_TEST: [u32; 50] = [
    11, 12, 19, 20, 24, 26, 29, 41, 55, 59, 108, 124, 127, 133, 142, 158, 173, 180, 187, 188, 197,
    199, 203, 205, 207, 208, 210, 215, 222, 226, 258, 263, 280, 284, 290, 322, 337, 350, 354, 363,
    372, 382, 387, 405, 410, 424, 428, 429, 436, 472,
];

const DRIVAERML_ABUPT_VAL: [u32; 34] = [
    4, 22, 56, 109, 150, 165, 177, 191, 228, 234, 241, 247, 252, 253, 260, 271, 275, 298, 303, 311,
    321, 324, 328, 341, 352, 366, 380, 390, 401, 423, 441, 447, 454, 487,
];

const DRIVAERML_PHYSICSNEMO_TEST: [u32; 48] = [
    4, 17, 18, 27, 62, 71, 86, 112, 115, 118, 129, 145, 149, 159, 171, 183, 197, 202, 204, 225,
    269, 270, 271, 298, 305, 320, 345, 367, 380, 382, 399, 409, 417, 419, 421, 424, 429, 431, 439,
    460, 465, 468, 469, 478, 483, 489, 490, 495,
];

/// Names `prepare --split` accepts besides fractions.
pub const NAMES: &[&str] = &["abupt", "physicsnemo", "shapenet-param0"];

/// The published split `name` of `runs` (prepared run names), or why it cannot apply.
pub fn published(name: &str, runs: &[String]) -> Result<Splits, DataError> {
    let number = |run: &str| run.strip_prefix("run_").and_then(|n| n.parse::<u32>().ok());
    let mut s = Splits {
        train: Vec::new(),
        val: Vec::new(),
        test: Vec::new(),
    };
    for run in runs {
        let target = match name {
            "abupt" | "physicsnemo" => {
                let n = number(run).ok_or_else(|| {
                    DataError::Usage(format!(
                        "split `{name}` is for DrivAerML runs (run_<i>); `{run}` is not one"
                    ))
                })?;
                let (test, val): (&[u32], &[u32]) = if name == "abupt" {
                    (&DRIVAERML_ABUPT_TEST, &DRIVAERML_ABUPT_VAL)
                } else {
                    (&DRIVAERML_PHYSICSNEMO_TEST, &[])
                };
                if test.contains(&n) {
                    &mut s.test
                } else if val.contains(&n) {
                    &mut s.val
                } else {
                    &mut s.train
                }
            }
            "shapenet-param0" => {
                if !run.starts_with("param") {
                    return Err(DataError::Usage(format!(
                        "split `{name}` is for ShapeNet-Car runs (param<k>_<id>); `{run}` is not one"
                    )));
                }
                if run.starts_with("param0_") {
                    &mut s.test
                } else {
                    &mut s.train
                }
            }
            _ => {
                return Err(DataError::Usage(format!(
                    "unknown split `{name}`; give three fractions (e.g. 0.8,0.1,0.1) or one of: {}",
                    NAMES.join(", ")
                )))
            }
        };
        target.push(run.clone());
    }
    s.train.sort();
    s.val.sort();
    s.test.sort();
    Ok(s)
}

/// A split given as lists of run names in `dir`, one name a line: `train_design_ids.txt`,
/// `val_design_ids.txt`, `test_design_ids.txt` (DrivAerNet++'s published split, from its
/// `train_val_test_splits` folder) or `train.txt`, `val.txt`, `test.txt`. The validation list
/// may be absent. Runs no list names are in no split; names the lists hold that were not
/// prepared are simply absent. A name in two lists is an error.
pub fn from_lists(dir: &Path, runs: &[String]) -> Result<Splits, DataError> {
    let read = |split: &str| -> Result<Option<(PathBuf, Vec<String>)>, DataError> {
        let candidates = [
            dir.join(format!("{split}_design_ids.txt")),
            dir.join(format!("{split}.txt")),
        ];
        let Some(path) = candidates.into_iter().find(|p| p.is_file()) else {
            return Ok(None);
        };
        let text = std::fs::read_to_string(&path).map_err(|e| DataError::read(&path, e))?;
        let names = text
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(str::to_string)
            .collect();
        Ok(Some((path, names)))
    };
    let mut owner: HashMap<String, (usize, PathBuf)> = HashMap::new();
    for (k, split) in ["train", "val", "test"].iter().enumerate() {
        let Some((path, names)) = read(split)? else {
            if *split == "val" {
                continue;
            }
            return Err(DataError::file(
                dir,
                format!("no {split}_design_ids.txt or {split}.txt (one run name a line)"),
            ));
        };
        for name in names {
            if let Some((_, first)) = owner.insert(name.clone(), (k, path.clone())) {
                return Err(DataError::file(
                    &path,
                    format!("run {name} is also listed in {}", first.display()),
                ));
            }
        }
    }
    let mut s = Splits {
        train: Vec::new(),
        val: Vec::new(),
        test: Vec::new(),
    };
    for run in runs {
        match owner.get(run).map(|(k, _)| *k) {
            Some(0) => s.train.push(run.clone()),
            Some(1) => s.val.push(run.clone()),
            Some(_) => s.test.push(run.clone()),
            None => {}
        }
    }
    s.train.sort();
    s.val.sort();
    s.test.sort();
    Ok(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn drivaerml() -> Vec<String> {
        // The 484 public runs: 1..=500 without the 16 the dataset's authors held back.
        const HIDDEN: [u32; 16] = [
            167, 211, 218, 221, 248, 282, 291, 295, 316, 325, 329, 364, 370, 376, 403, 473,
        ];
        (1..=500)
            .filter(|n| !HIDDEN.contains(n))
            .map(|n| format!("run_{n}"))
            .collect()
    }

    #[test]
    fn drivaerml_splits_have_the_published_sizes() {
        let a = published("abupt", &drivaerml()).unwrap();
        assert_eq!((a.train.len(), a.val.len(), a.test.len()), (400, 34, 50));
        let p = published("physicsnemo", &drivaerml()).unwrap();
        assert_eq!((p.train.len(), p.val.len(), p.test.len()), (436, 0, 48));
        assert!(a.test.contains(&"run_11".to_string()) && a.val.contains(&"run_4".to_string()));
    }

    #[test]
    fn shapenet_param0_is_the_test_set() {
        let runs: Vec<String> = ["param0_a1", "param1_b2", "param8_c3"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let s = published("shapenet-param0", &runs).unwrap();
        assert_eq!(s.test, vec!["param0_a1".to_string()]);
        assert_eq!(s.train.len(), 2);
    }

    #[test]
    fn list_files_assign_the_runs_they_name() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        std::fs::write(d.join("train_design_ids.txt"), "A_001\nA_002\n\nA_009\n").unwrap();
        std::fs::write(d.join("val_design_ids.txt"), "A_003\n").unwrap();
        std::fs::write(d.join("test_design_ids.txt"), " A_004 \r\n").unwrap();
        let runs: Vec<String> = ["A_004", "A_001", "A_003", "A_002", "A_005"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let s = from_lists(d, &runs).unwrap();
        assert_eq!(s.train, ["A_001", "A_002"], "A_009 was not prepared");
        assert_eq!(
            (s.val.as_slice(), s.test.as_slice()),
            (&["A_003".to_string()][..], &["A_004".to_string()][..])
        );
        // A_005 is in no list: in no split.
        std::fs::write(d.join("test_design_ids.txt"), "A_004\nA_002\n").unwrap();
        let e = from_lists(d, &runs).unwrap_err().to_string();
        assert!(
            e.contains("A_002") && e.contains("test_design_ids.txt"),
            "{e}"
        );
        std::fs::remove_file(d.join("test_design_ids.txt")).unwrap();
        let e = from_lists(d, &runs).unwrap_err().to_string();
        assert!(e.contains("test_design_ids.txt or test.txt"), "{e}");
    }

    #[test]
    fn wrong_runs_or_names_are_explained() {
        let e = published("abupt", &["param0_x".to_string()])
            .unwrap_err()
            .to_string();
        assert!(e.contains("DrivAerML"), "{e}");
        let e = published("nope", &["run_1".to_string()])
            .unwrap_err()
            .to_string();
        assert!(e.contains("abupt") && e.contains("fractions"), "{e}");
    }
}
