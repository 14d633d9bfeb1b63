//! Reports: the one [`Report`] model and its renderers.

pub mod build;
pub mod console;
pub mod csv;
pub mod html;
pub mod json;
pub mod junit;
pub mod markdown;
pub mod model;
pub mod render;

pub use model::*;
