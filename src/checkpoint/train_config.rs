//! The training configuration (TOML). Every section has defaults, so a file names only what it
//! changes; unknown keys are errors, so a typo never silently trains with a default.

use serde::{Deserialize, Serialize};

use crate::data::BatchSpec;
use crate::model::AbUptConfig;

/// Errors of reading or checking a training configuration.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{0}")]
    Parse(String),
    #[error("{0}")]
    Invalid(String),
}

/// The model: a preset, with any [`AbUptConfig`] field overridden.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelSection {
    #[serde(default = "small")]
    pub preset: String,
    /// Overrides of individual architecture fields (`dim = 64`, `num_surface_blocks = 1`, …).
    #[serde(flatten)]
    pub overrides: toml::Table,
}

fn small() -> String {
    "small".into()
}

impl Default for ModelSection {
    fn default() -> Self {
        ModelSection {
            preset: small(),
            overrides: toml::Table::new(),
        }
    }
}

impl ModelSection {
    /// The architecture: the preset with the overrides applied (the coordinate frame is fitted to
    /// the data later).
    pub fn resolve(&self) -> Result<AbUptConfig, ConfigError> {
        let base =
            AbUptConfig::preset(&self.preset).map_err(|e| ConfigError::Invalid(e.to_string()))?;
        let mut table: toml::Table = toml::from_str(&base.to_toml())
            .map_err(|e| ConfigError::Parse(format!("preset `{}`: {e}", self.preset)))?;
        for (k, v) in &self.overrides {
            if !table.contains_key(k) {
                return Err(ConfigError::Invalid(format!(
                    "[model] has no field `{k}`; fields: preset, {}",
                    table.keys().cloned().collect::<Vec<_>>().join(", ")
                )));
            }
            table.insert(k.clone(), v.clone());
        }
        let text = toml::to_string(&table).map_err(|e| ConfigError::Parse(e.to_string()))?;
        AbUptConfig::from_toml(&text).map_err(|e| ConfigError::Invalid(format!("[model]: {e}")))
    }
}

/// Weights of the per-field mean squared errors in the loss.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LossWeights {
    pub surface_pressure: f32,
    pub surface_wall_shear: f32,
    pub volume_pressure: f32,
    pub volume_velocity: f32,
    pub volume_vorticity: f32,
    /// Weights of the drag and lift terms (ΔC / 0.01)², ΔC the coefficient error integrated over
    /// the batch's surface anchors (an unbiased estimate of the whole surface's). Field errors
    /// that integrate to zero cost nothing here; a biased base or front pressure costs a lot.
    /// Not in the AB-UPT reference; 0 (the default) leaves its objective unchanged.
    pub drag: f32,
    pub lift: f32,
}

impl Default for LossWeights {
    fn default() -> Self {
        LossWeights {
            surface_pressure: 1.0,
            surface_wall_shear: 1.0,
            volume_pressure: 1.0,
            volume_velocity: 1.0,
            volume_vorticity: 1.0,
            drag: 0.0,
            lift: 0.0,
        }
    }
}

/// Which optimiser.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OptimizerKind {
    Adamw,
    /// What the reference trains AB-UPT with (lr about 10× below AdamW's).
    Lion,
}

/// Optimiser and learning-rate schedule.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct OptimizerSection {
    pub kind: OptimizerKind,
    /// Peak learning rate.
    pub lr: f64,
    pub weight_decay: f64,
    pub beta1: f64,
    pub beta2: f64,
    /// Linear warm-up over this fraction of the steps, then cosine decay to `final_lr_fraction`.
    pub warmup_fraction: f64,
    pub final_lr_fraction: f64,
    /// Global gradient norm limit (0: no clipping).
    pub clip_grad_norm: f64,
}

impl Default for OptimizerSection {
    fn default() -> Self {
        OptimizerSection {
            kind: OptimizerKind::Adamw,
            lr: 5e-4,
            weight_decay: 0.05,
            beta1: 0.9,
            beta2: 0.99,
            warmup_fraction: 0.05,
            final_lr_fraction: 0.01,
            clip_grad_norm: 1.0,
        }
    }
}

impl OptimizerSection {
    /// The learning rate at `step` (0-based) of `steps`.
    pub fn lr_at(&self, step: u64, steps: u64) -> f64 {
        let steps = steps.max(1) as f64;
        let warmup = (self.warmup_fraction * steps).round().max(0.0);
        let s = step as f64;
        if s < warmup {
            return self.lr * (s + 1.0) / warmup;
        }
        let progress = ((s - warmup) / (steps - warmup).max(1.0)).clamp(0.0, 1.0);
        let floor = self.lr * self.final_lr_fraction;
        floor + (self.lr - floor) * 0.5 * (1.0 + (std::f64::consts::PI * progress).cos())
    }
}

/// Length of the run and how often it logs, validates and saves.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ScheduleSection {
    pub steps: u64,
    pub seed: u64,
    pub log_every: u64,
    pub val_every: u64,
    pub checkpoint_every: u64,
    /// Also keep the weights every this many steps in `RUN_DIR/snapshots/step_<n>/` (0: none),
    /// to pick or average (`slipstream average`) late checkpoints by validation.
    pub snapshot_every: u64,
}

impl Default for ScheduleSection {
    fn default() -> Self {
        ScheduleSection {
            steps: 2000,
            seed: 0,
            log_every: 10,
            val_every: 200,
            checkpoint_every: 100,
            snapshot_every: 0,
        }
    }
}

/// A whole training configuration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct TrainConfig {
    pub model: ModelSection,
    pub data: BatchSpec,
    pub loss: LossWeights,
    pub optimizer: OptimizerSection,
    pub schedule: ScheduleSection,
}

impl TrainConfig {
    pub fn from_toml(text: &str) -> Result<Self, ConfigError> {
        let c: TrainConfig = toml::from_str(text).map_err(|e| ConfigError::Parse(e.to_string()))?;
        c.validate()?;
        Ok(c)
    }

    pub fn to_toml(&self) -> String {
        toml::to_string(self).unwrap_or_default()
    }

    pub fn validate(&self) -> Result<(), ConfigError> {
        self.model.resolve()?;
        let bad = |m: &str| Err(ConfigError::Invalid(m.into()));
        let d = &self.data;
        if d.surface_anchors == 0 || d.volume_anchors == 0 {
            return bad("[data] surface_anchors and volume_anchors must be positive");
        }
        if d.supernodes == 0 || d.supernodes > d.geometry_points {
            return bad("[data] supernodes must be between 1 and geometry_points");
        }
        let o = &self.optimizer;
        if !(o.lr.is_finite() && o.lr > 0.0) {
            return bad("[optimizer] lr must be positive");
        }
        if !(0.0..1.0).contains(&o.beta1) || !(0.0..1.0).contains(&o.beta2) {
            return bad("[optimizer] beta1 and beta2 must lie in [0, 1)");
        }
        if !(0.0..1.0).contains(&o.warmup_fraction) || !(0.0..=1.0).contains(&o.final_lr_fraction) {
            return bad(
                "[optimizer] warmup_fraction must lie in [0, 1) and final_lr_fraction in [0, 1]",
            );
        }
        if o.weight_decay < 0.0 || o.clip_grad_norm < 0.0 {
            return bad("[optimizer] weight_decay and clip_grad_norm cannot be negative");
        }
        let s = &self.schedule;
        if s.steps == 0 {
            return bad("[schedule] steps must be positive");
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_short_file_fills_in_defaults_and_overrides_the_preset() {
        let c =
            TrainConfig::from_toml("[model]\npreset = \"tiny\"\ndim = 24\n[schedule]\nsteps = 7\n")
                .unwrap();
        assert_eq!(c.schedule.steps, 7);
        assert_eq!(c.schedule.log_every, 10);
        let m = c.model.resolve().unwrap();
        assert_eq!(m.dim, 24);
        assert_eq!(m.num_surface_blocks, 2);
        let back = TrainConfig::from_toml(&c.to_toml()).unwrap();
        assert_eq!(back, c);
    }

    #[test]
    fn typos_and_bad_values_are_errors() {
        assert!(TrainConfig::from_toml("[schedule]\nstep = 7\n").is_err());
        let e = TrainConfig::from_toml("[model]\ndimm = 7\n").unwrap_err();
        assert!(e.to_string().contains("dimm"), "{e}");
        assert!(TrainConfig::from_toml("[optimizer]\nlr = -1.0\n").is_err());
        assert!(TrainConfig::from_toml("[optimizer]\nkind = \"sgd\"\n").is_err());
    }

    #[test]
    fn learning_rate_warms_up_linearly_then_decays_by_cosine() {
        let o = OptimizerSection {
            lr: 1.0,
            warmup_fraction: 0.1,
            final_lr_fraction: 0.0,
            ..Default::default()
        };
        assert!((o.lr_at(0, 100) - 0.1).abs() < 1e-12);
        assert!((o.lr_at(9, 100) - 1.0).abs() < 1e-12);
        assert!((o.lr_at(10, 100) - 1.0).abs() < 1e-12);
        // Half-way through the decay: 0.5.
        assert!((o.lr_at(55, 100) - 0.5).abs() < 1e-12);
        assert!(o.lr_at(100, 100).abs() < 1e-12);
    }
}
