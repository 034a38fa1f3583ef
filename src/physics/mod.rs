//! Physics on predicted or simulated fields: forces and moments on a body from its surface
//! fields, aerodynamic coefficients with explicit reference values, and the derived fields Cp and
//! Cf. Datasets store pressure in different kinds (kinematic p/ρ, static pascals, Cp); this module
//! turns each into pascals and newtons with the reference values it is given, never a default.

pub mod forces;

pub use forces::{
    coefficients, friction_coefficient, integrate, pressure_coefficient, Axes, Coefficients,
    Forces, PhysicsError, PressureKind, Reference, SurfaceLoads,
};
