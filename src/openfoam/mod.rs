//! The data generator: parametric body families meshed and solved with OpenFOAM, written in the
//! AhmedML file layout. (Work in progress: the body family comes first.)

pub mod ahmed;
pub mod case;
pub mod forces;
pub mod generate;
pub mod run_error;
pub mod wall;
