//! Model configuration: every knob of the reference AB-UPT, serialisable as TOML or JSON, with
//! named presets.

use serde::{Deserialize, Serialize};

use super::ModelError;

/// How a 3-vector output of the volume branch is produced.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum VectorHead {
    /// The head's three channels are the field itself (the reference).
    #[default]
    Direct,
    /// The head's three channels are a vector potential ψ and the field is ∇×ψ with respect to
    /// the physical coordinates, so its divergence is zero by construction.
    Curl,
}

/// What the tokens of one shared-trunk block attend to; written as one letter per block in
/// [`AbUptConfig::blocks`] (the reference's notation).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TrunkBlock {
    /// `p`: both branches attend to the geometry supernodes (a Perceiver block).
    Geometry,
    /// `s`: each branch attends to its own anchors.
    OwnBranch,
    /// `c`: each branch attends to the other branch's anchors.
    OtherBranch,
}

impl TrunkBlock {
    /// The block a letter of [`AbUptConfig::blocks`] names.
    pub fn from_letter(letter: char) -> Option<TrunkBlock> {
        match letter {
            'p' => Some(TrunkBlock::Geometry),
            's' => Some(TrunkBlock::OwnBranch),
            'c' => Some(TrunkBlock::OtherBranch),
            _ => None,
        }
    }
}

/// Maps physical coordinates (metres) into the model's frame: `model = (physical + offset_m) ·
/// scale_per_m`, per axis. The reference maps each dataset into roughly [0, 1000]; sincos and
/// RoPE frequencies are tuned for that range.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CoordinateFrame {
    pub offset_m: [f32; 3],
    pub scale_per_m: [f32; 3],
}

impl CoordinateFrame {
    /// Positions already in the model frame (the parity fixtures).
    pub const IDENTITY: CoordinateFrame = CoordinateFrame {
        offset_m: [0.0; 3],
        scale_per_m: [1.0; 3],
    };

    /// A physical point in the model frame.
    pub fn to_model(&self, p: [f32; 3]) -> [f32; 3] {
        [
            (p[0] + self.offset_m[0]) * self.scale_per_m[0],
            (p[1] + self.offset_m[1]) * self.scale_per_m[1],
            (p[2] + self.offset_m[2]) * self.scale_per_m[2],
        ]
    }

    /// Physical points in the model frame.
    pub fn to_model_points(&self, points: &[[f32; 3]]) -> Vec<[f32; 3]> {
        points.iter().map(|p| self.to_model(*p)).collect()
    }

    /// The frame that maps the box `[min, max]` (metres, grown by `margin` of its largest side on
    /// every side) isotropically onto `[0, 1000]` along its largest side.
    pub fn fit(min: [f32; 3], max: [f32; 3], margin: f32) -> CoordinateFrame {
        let side = (0..3)
            .map(|a| max[a] - min[a])
            .fold(0.0f32, f32::max)
            .max(f32::EPSILON);
        let pad = side * margin;
        let scale = 1000.0 / (side + 2.0 * pad);
        CoordinateFrame {
            offset_m: [pad - min[0], pad - min[1], pad - min[2]],
            scale_per_m: [scale; 3],
        }
    }
}

impl Default for CoordinateFrame {
    fn default() -> Self {
        CoordinateFrame::IDENTITY
    }
}

/// The architecture. Field names follow the reference's constructor arguments where it has them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AbUptConfig {
    /// Token width.
    pub dim: usize,
    /// Attention heads; `dim / num_heads` is the head width RoPE rotates.
    pub num_heads: usize,
    /// Shared trunk, one letter per block: `p` tokens attend to geometry, `s` each branch attends
    /// to its own anchors, `c` each branch attends to the other branch's anchors.
    pub blocks: String,
    /// Self-attention blocks over the geometry supernodes.
    #[serde(default = "one")]
    pub geometry_depth: usize,
    /// Surface-only decoder blocks after the trunk.
    pub num_surface_blocks: usize,
    /// Volume-only decoder blocks after the trunk.
    pub num_volume_blocks: usize,
    /// Supernode pooling radius, in model units (inclusive).
    pub radius: f32,
    /// At most this many geometry points pool into one supernode (the nearest ones).
    #[serde(default = "thirty_two")]
    pub max_neighbours: usize,
    /// Hidden width of every transformer MLP as a multiple of `dim`.
    #[serde(default = "four")]
    pub mlp_ratio: usize,
    /// Surface head channels: pressure and the three wall-shear components.
    #[serde(default = "four")]
    pub surface_channels: usize,
    /// Volume head channels: total-pressure coefficient, velocity (3) and vorticity (3).
    #[serde(default = "seven")]
    pub volume_channels: usize,
    #[serde(default = "layer_norm_eps")]
    pub layer_norm_eps: f64,
    /// Longest wavelength of the sincos and RoPE frequencies, in model units.
    #[serde(default = "max_wavelength")]
    pub max_wavelength: f32,
    /// Volume vorticity channels 4..7: direct, or ω = ∇×ψ.
    #[serde(default)]
    pub vorticity_head: VectorHead,
    /// Volume velocity channels 1..4: direct, or u = u∞ + ∇×A.
    #[serde(default)]
    pub velocity_head: VectorHead,
    /// u∞ added to ∇×A when `velocity_head = "curl"`, in the velocity output's units.
    #[serde(default)]
    pub freestream_velocity: [f32; 3],
    /// Physical → model coordinates.
    #[serde(default)]
    pub coordinates: CoordinateFrame,
}

fn one() -> usize {
    1
}
fn four() -> usize {
    4
}
fn seven() -> usize {
    7
}
fn thirty_two() -> usize {
    32
}
fn layer_norm_eps() -> f64 {
    1e-6
}
fn max_wavelength() -> f32 {
    10_000.0
}

/// The presets `--preset` accepts.
pub const PRESETS: &[&str] = &["drivaerml", "small", "tiny"];

impl AbUptConfig {
    /// The reference DrivAerML configuration (8,751,179 parameters). DrivAerML is mapped by
    /// `(x + 40) · 1000 / 120`; the pooling radius is 0.25 m in that frame.
    pub fn drivaerml() -> Self {
        let scale = 1000.0 / 120.0;
        AbUptConfig {
            dim: 192,
            num_heads: 3,
            blocks: "pscscs".into(),
            geometry_depth: 1,
            num_surface_blocks: 6,
            num_volume_blocks: 6,
            radius: 0.25 * scale,
            max_neighbours: 32,
            mlp_ratio: 4,
            surface_channels: 4,
            volume_channels: 7,
            layer_norm_eps: 1e-6,
            max_wavelength: 10_000.0,
            vorticity_head: VectorHead::Direct,
            velocity_head: VectorHead::Direct,
            freestream_velocity: [0.0; 3],
            coordinates: CoordinateFrame {
                offset_m: [40.0; 3],
                scale_per_m: [scale; 3],
            },
        }
    }

    /// A model small enough to train on a CPU: the bundled checkpoint and the tests use it.
    pub fn small() -> Self {
        AbUptConfig {
            dim: 96,
            num_heads: 3,
            blocks: "pscscs".into(),
            num_surface_blocks: 2,
            num_volume_blocks: 2,
            radius: 25.0,
            ..Self::drivaerml()
        }
    }

    /// The parity fixture's `tiny` model (dim 48, 3 heads).
    pub fn tiny() -> Self {
        AbUptConfig {
            dim: 48,
            num_surface_blocks: 2,
            num_volume_blocks: 2,
            radius: 120.0,
            coordinates: CoordinateFrame::IDENTITY,
            ..Self::drivaerml()
        }
    }

    /// A preset by name (see [`PRESETS`]).
    pub fn preset(name: &str) -> Result<Self, ModelError> {
        match name {
            "drivaerml" => Ok(Self::drivaerml()),
            "small" => Ok(Self::small()),
            "tiny" => Ok(Self::tiny()),
            other => Err(ModelError::Config(format!(
                "unknown preset `{other}`; choose one of {}",
                PRESETS.join(", ")
            ))),
        }
    }

    /// Reads a TOML model configuration.
    pub fn from_toml(text: &str) -> Result<Self, ModelError> {
        let config: AbUptConfig =
            toml::from_str(text).map_err(|e| ModelError::Config(e.to_string()))?;
        config.validate()?;
        Ok(config)
    }

    pub fn to_toml(&self) -> String {
        toml::to_string(self).unwrap_or_default()
    }

    /// The shared trunk's blocks in order (letters that name none are left out; [`validate`]
    /// refuses them).
    ///
    /// [`validate`]: AbUptConfig::validate
    pub fn trunk(&self) -> Vec<TrunkBlock> {
        self.blocks
            .chars()
            .filter_map(TrunkBlock::from_letter)
            .collect()
    }

    /// Head width.
    pub fn head_dim(&self) -> usize {
        self.dim / self.num_heads.max(1)
    }

    /// Checks the combinations the model cannot build.
    pub fn validate(&self) -> Result<(), ModelError> {
        let fail = |m: String| Err(ModelError::Config(m));
        if self.dim == 0 || self.num_heads == 0 || !self.dim.is_multiple_of(self.num_heads) {
            return fail(format!(
                "dim {} must be a positive multiple of num_heads {}",
                self.dim, self.num_heads
            ));
        }
        if !self.head_dim().is_multiple_of(2) {
            return fail(format!(
                "head width {} must be even for RoPE",
                self.head_dim()
            ));
        }
        if self.head_dim() < 6 {
            return fail(format!(
                "head width {} leaves RoPE no frequency per axis; use at least 6",
                self.head_dim()
            ));
        }
        if self.dim < 8 {
            return fail(format!(
                "dim {} is too small for 4-axis sincos embeddings",
                self.dim
            ));
        }
        if let Some(bad) = self
            .blocks
            .chars()
            .find(|&c| TrunkBlock::from_letter(c).is_none())
        {
            return fail(format!("block `{bad}` in `{}`: use p, s or c", self.blocks));
        }
        if !(self.radius.is_finite() && self.radius > 0.0) {
            return fail(format!("radius {} must be positive", self.radius));
        }
        if self.max_neighbours == 0 || self.mlp_ratio == 0 {
            return fail("max_neighbours and mlp_ratio must be positive".into());
        }
        if self.surface_channels == 0 || self.volume_channels == 0 {
            return fail("both branches need at least one output channel".into());
        }
        let curl =
            self.vorticity_head == VectorHead::Curl || self.velocity_head == VectorHead::Curl;
        if curl && self.volume_channels != 7 {
            return fail(format!(
                "curl heads need the 7-channel volume layout [p, u, ω], not {} channels",
                self.volume_channels
            ));
        }
        if self
            .coordinates
            .scale_per_m
            .iter()
            .any(|s| !(s.is_finite() && *s > 0.0))
        {
            return fail("coordinate scale must be positive and finite".into());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn presets_validate_and_round_trip_through_toml() {
        for name in PRESETS {
            let config = AbUptConfig::preset(name).unwrap();
            config.validate().unwrap();
            let back = AbUptConfig::from_toml(&config.to_toml()).unwrap();
            assert_eq!(back, config);
        }
        assert!(AbUptConfig::preset("huge").is_err());
    }

    #[test]
    fn bad_configs_are_rejected_with_a_reason() {
        let mut c = AbUptConfig::tiny();
        c.blocks = "psx".into();
        assert!(c.validate().unwrap_err().to_string().contains('x'));
        let mut c = AbUptConfig::tiny();
        c.num_heads = 5;
        assert!(c.validate().is_err());
        let mut c = AbUptConfig::tiny();
        c.vorticity_head = VectorHead::Curl;
        c.volume_channels = 4;
        assert!(c.validate().is_err());
    }

    #[test]
    fn frame_fit_maps_the_box_into_0_1000() {
        let f = CoordinateFrame::fit([-1.0, -0.5, 0.0], [3.0, 0.5, 1.0], 0.0);
        assert_eq!(f.to_model([-1.0, -0.5, 0.0]), [0.0, 0.0, 0.0]);
        assert!((f.to_model([3.0, 0.5, 1.0])[0] - 1000.0).abs() < 1e-3);
    }
}
