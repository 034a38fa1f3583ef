//! slipstream: a neural CFD surrogate engine for automotive aerodynamics.
//!
//! The data flow runs one way: [`mesh`] (read and write files) → [`geometry`] (areas, normals,
//! volumes, sampling, queries) → model → physics / export. [`domain`] describes which bodies a
//! trained model has seen (from prepared runs' surfaces) for `predict` to refuse the others.
//! [`inspect`] and [`bench`] serve the CLI's `info` and `bench` commands.

pub mod allocator;
pub mod bench;
#[cfg(feature = "model")]
pub mod checkpoint;
pub mod data;
pub mod domain;
#[cfg(feature = "model")]
pub mod eval;
pub mod export;
pub mod geometry;
pub mod inspect;
pub mod mesh;
#[cfg(feature = "model")]
pub mod model;
pub mod openfoam;
pub mod physics;
#[cfg(feature = "model")]
pub mod predict;
pub mod progress;
pub mod rng;
#[cfg(test)]
mod test_fixtures;
#[cfg(feature = "model")]
pub mod train;
