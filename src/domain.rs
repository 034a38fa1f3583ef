//! The domain of a trained model: which bodies it has seen, and how far a new body is from them.
//!
//! A surrogate answers whatever it is asked, so `predict` first asks how unlike the training
//! bodies the new one is. Every body is summarised by its
//! [shape descriptor](crate::geometry::shape_descriptor); each feature gets a distance unit (its
//! spread over the training bodies, never less than a floor that keeps a family with one fixed
//! proportion from calling a 1 % change alien); a body's distance is the Euclidean distance, in
//! those units, to the nearest training body.
//!
//! Distances are quoted as a `domain_score`: the distance over the training bodies' typical
//! spacing (the median distance from each to its nearest other), so 1 means "as far from the
//! training set as its members are from each other". The threshold is set on the validation
//! bodies: the largest validation score times [`THRESHOLD_MARGIN`] (never below the largest
//! spacing among training bodies times the same margin), so the family's own held-out bodies pass
//! by construction of the rule, and the test bodies, never looked at, show whether it generalises.

use serde::{Deserialize, Serialize};

use crate::data::PreparedRun;
use crate::geometry::shape_descriptor::{D2, FACING, FEATURE_NAMES};

/// How much farther than the farthest validation body a body may be and still be accepted.
pub const THRESHOLD_MARGIN: f64 = 1.5;

/// A feature's smallest distance unit: ln-features 0.03 (3 %), area shares 0.01.
fn floor(feature: usize) -> f64 {
    if feature < FACING {
        0.03
    } else {
        0.01
    }
}

/// One training body's descriptor.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Member {
    pub run: String,
    pub descriptor: Vec<f64>,
}

impl Member {
    /// A prepared run's body, described by its surface cells.
    pub fn of_run(run: &PreparedRun) -> Result<Self, DomainError> {
        Ok(Member {
            run: run.name.clone(),
            descriptor: run
                .shape_descriptor()
                .map_err(|e| DomainError::Run(e.to_string()))?,
        })
    }
}

/// What a checkpoint's training bodies covered, and the threshold of "like them".
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ShapeDomain {
    /// Feature names, in descriptor order (a check that the descriptor has not changed).
    pub features: Vec<String>,
    /// Each feature's distance unit.
    pub unit: Vec<f64>,
    pub members: Vec<Member>,
    /// Median distance from a training body to its nearest other (in feature units).
    pub spacing: f64,
    /// Largest accepted `domain_score`.
    pub threshold: f64,
    /// The validation bodies' scores the threshold was set on.
    pub validation: Vec<(String, f64)>,
}

/// How a body relates to a [`ShapeDomain`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Verdict {
    pub in_domain: bool,
    /// Distance to the nearest training body over the training bodies' spacing.
    pub domain_score: f64,
    pub threshold: f64,
    pub nearest_run: String,
    /// What is unlike, in words (empty when in the domain).
    pub reasons: Vec<String>,
}

/// Why a domain cannot be built or used.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum DomainError {
    #[error("a domain needs at least two training bodies, got {0}")]
    TooFew(usize),
    #[error("descriptor of {run} has {got} features, expected {expected}")]
    Length {
        run: String,
        got: usize,
        expected: usize,
    },
    #[error("{0}")]
    Run(String),
    #[error("the checkpoint's domain was built with other shape features ({0}); run `slipstream calibrate` again")]
    Features(String),
}

impl ShapeDomain {
    /// The domain of `training` bodies, its threshold set on `validation` bodies.
    pub fn fit(training: Vec<Member>, validation: &[Member]) -> Result<Self, DomainError> {
        let width = FEATURE_NAMES.len();
        if training.len() < 2 {
            return Err(DomainError::TooFew(training.len()));
        }
        for m in training.iter().chain(validation) {
            if m.descriptor.len() != width {
                return Err(DomainError::Length {
                    run: m.run.clone(),
                    got: m.descriptor.len(),
                    expected: width,
                });
            }
        }
        let n = training.len() as f64;
        let unit: Vec<f64> = (0..width)
            .map(|k| {
                let mean = training.iter().map(|m| m.descriptor[k]).sum::<f64>() / n;
                let var = training
                    .iter()
                    .map(|m| (m.descriptor[k] - mean).powi(2))
                    .sum::<f64>()
                    / (n - 1.0);
                var.sqrt().max(floor(k))
            })
            .collect();
        let mut domain = ShapeDomain {
            features: FEATURE_NAMES.iter().map(|s| s.to_string()).collect(),
            unit,
            members: training,
            spacing: 1.0,
            threshold: 0.0,
            validation: Vec::new(),
        };
        let mut nearest_other: Vec<f64> = (0..domain.members.len())
            .map(|i| {
                domain
                    .nearest(&domain.members[i].descriptor, Some(i))
                    .map_or(0.0, |(_, d)| d)
            })
            .collect();
        nearest_other.sort_by(f64::total_cmp);
        let median = nearest_other[nearest_other.len() / 2];
        domain.spacing = if median > 0.0 { median } else { 1.0 };
        let widest = nearest_other.last().copied().unwrap_or(0.0) / domain.spacing;
        domain.validation = validation
            .iter()
            .map(|m| {
                let d = domain.nearest(&m.descriptor, None).map_or(0.0, |(_, d)| d);
                (m.run.clone(), d / domain.spacing)
            })
            .collect();
        let farthest = domain
            .validation
            .iter()
            .map(|(_, s)| *s)
            .fold(widest, f64::max);
        domain.threshold = THRESHOLD_MARGIN * farthest;
        Ok(domain)
    }

    /// The domain of the `training` bodies with its threshold set on the `validation` runs;
    /// `None` with fewer than two training bodies (no spacing to measure distances by).
    pub fn of_runs(
        training: Vec<Member>,
        validation: &[PreparedRun],
    ) -> Result<Option<Self>, DomainError> {
        if training.len() < 2 {
            return Ok(None);
        }
        let validation = validation
            .iter()
            .map(Member::of_run)
            .collect::<Result<Vec<_>, _>>()?;
        Self::fit(training, &validation).map(Some)
    }

    /// The nearest member (skipping index `skip`) and its distance in feature units.
    fn nearest(&self, descriptor: &[f64], skip: Option<usize>) -> Option<(usize, f64)> {
        self.members
            .iter()
            .enumerate()
            .filter(|(i, _)| Some(*i) != skip)
            .map(|(i, m)| (i, self.distance(descriptor, &m.descriptor)))
            .min_by(|a, b| a.1.total_cmp(&b.1))
    }

    fn distance(&self, a: &[f64], b: &[f64]) -> f64 {
        a.iter()
            .zip(b)
            .zip(&self.unit)
            .map(|((x, y), u)| ((x - y) / u).powi(2))
            .sum::<f64>()
            .sqrt()
    }

    /// How `descriptor` relates to the domain.
    pub fn judge(&self, descriptor: &[f64]) -> Result<Verdict, DomainError> {
        if self.features.len() != FEATURE_NAMES.len()
            || self.features.iter().zip(FEATURE_NAMES).any(|(a, b)| a != b)
        {
            return Err(DomainError::Features(self.features.join(", ")));
        }
        if descriptor.len() != self.unit.len() {
            return Err(DomainError::Length {
                run: "the body".into(),
                got: descriptor.len(),
                expected: self.unit.len(),
            });
        }
        let (i, d) = self
            .nearest(descriptor, None)
            .ok_or(DomainError::TooFew(0))?;
        let domain_score = d / self.spacing;
        let in_domain = domain_score <= self.threshold;
        let reasons = if in_domain {
            Vec::new()
        } else {
            self.reasons(descriptor, i)
        };
        Ok(Verdict {
            in_domain,
            domain_score,
            threshold: self.threshold,
            nearest_run: self.members[i].run.clone(),
            reasons,
        })
    }

    /// The features of `descriptor` outside the training bodies' range (by more than two
    /// units), in words; or, when every feature is within range, the features that differ most
    /// from the nearest body (`nearest`).
    fn reasons(&self, descriptor: &[f64], nearest: usize) -> Vec<String> {
        let range = |k: usize| {
            self.members
                .iter()
                .map(|m| m.descriptor[k])
                .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), x| {
                    (lo.min(x), hi.max(x))
                })
        };
        let outside = |k: usize| {
            let (lo, hi) = range(k);
            let x = descriptor[k];
            (x < lo - 2.0 * self.unit[k] || x > hi + 2.0 * self.unit[k]).then_some((lo, hi))
        };
        let mut reasons = Vec::new();
        let scalars = [
            (0, "length", " m"),
            (1, "width/length", ""),
            (2, "height/length", ""),
            (3, "frontal area/(width × height)", ""),
            (4, "surface area/length²", ""),
        ];
        for (k, what, unit) in scalars {
            if let Some((lo, hi)) = outside(k) {
                reasons.push(format!(
                    "{what} {:.3}{unit}, training bodies {:.3}–{:.3}{unit}",
                    descriptor[k].exp(),
                    lo.exp(),
                    hi.exp()
                ));
            }
        }
        let group = |from: usize, to: usize| {
            let m = &self.members[nearest].descriptor;
            ((from..to)
                .map(|k| ((descriptor[k] - m[k]) / self.unit[k]).powi(2))
                .sum::<f64>()
                .sqrt())
                / self.spacing
        };
        let threshold = self.threshold;
        let facing = group(FACING, D2);
        if facing > threshold {
            reasons.push(format!(
                "the directions its surface faces (front, rear, sides, top, underside) are unlike \
                 any training body's ({facing:.1} spacings from the nearest, {threshold:.1} allowed)"
            ));
        }
        let d2 = group(D2, FEATURE_NAMES.len());
        if d2 > threshold {
            reasons.push(format!(
                "its shape (the spread of distances between surface points) is unlike any \
                 training body's ({d2:.1} spacings from the nearest, {threshold:.1} allowed)"
            ));
        }
        if reasons.is_empty() {
            reasons.push(format!(
                "no single feature is out of range, but the combination is unlike any training \
                 body (nearest: {})",
                self.members[nearest].run
            ));
        }
        reasons
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn member(run: &str, length: f64, seed: f64) -> Member {
        let mut d = vec![0.0; FEATURE_NAMES.len()];
        d[0] = length.ln();
        d[1] = (0.37 + 0.01 * seed).ln();
        d[2] = 0.28f64.ln();
        for (k, v) in d.iter_mut().enumerate().skip(FACING) {
            *v = 0.05 + 0.001 * ((k as f64 + seed) % 3.0);
        }
        Member {
            run: run.into(),
            descriptor: d,
        }
    }

    fn family() -> ShapeDomain {
        let training: Vec<Member> = (0..10)
            .map(|i| member(&format!("run_{i}"), 1.0 + 0.02 * i as f64, i as f64))
            .collect();
        ShapeDomain::fit(training, &[member("run_v", 1.05, 2.5)]).unwrap()
    }

    #[test]
    fn held_out_members_are_in_and_far_bodies_are_out_with_reasons() {
        let domain = family();
        assert!(domain.threshold > 0.0 && domain.spacing > 0.0);
        let v = domain.judge(&member("x", 1.07, 4.5).descriptor).unwrap();
        assert!(v.in_domain, "{v:?}");
        assert!(v.reasons.is_empty());

        let car = domain.judge(&member("car", 4.4, 3.0).descriptor).unwrap();
        assert!(!car.in_domain);
        assert!(car.domain_score > car.threshold);
        assert!(car.reasons[0].starts_with("length 4.400 m"), "{car:?}");

        let mut round = member("sphere", 1.0, 3.0).descriptor;
        for v in &mut round[D2..] {
            *v = 1.0 / 12.0;
        }
        let sphere = domain.judge(&round).unwrap();
        assert!(!sphere.in_domain);
        assert!(sphere
            .reasons
            .iter()
            .any(|r| r.contains("spread of distances")));
    }

    #[test]
    fn bad_descriptors_are_errors() {
        let domain = family();
        assert!(matches!(
            domain.judge(&[0.0; 3]),
            Err(DomainError::Length { .. })
        ));
        assert_eq!(
            ShapeDomain::fit(vec![member("a", 1.0, 0.0)], &[]),
            Err(DomainError::TooFew(1))
        );
        let mut renamed = domain.clone();
        renamed.features[0] = "length".into();
        assert!(matches!(
            renamed.judge(&member("x", 1.0, 0.0).descriptor),
            Err(DomainError::Features(_))
        ));
    }
}
