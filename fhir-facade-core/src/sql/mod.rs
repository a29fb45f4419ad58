//! SQL dialect differences, in one place.
//!
//! Case- and accent-insensitive matching folds the value in Rust with [`fold`], driven by one
//! table, [`FOLD_MAP`].

pub mod text;

pub use text::{FOLD_MAP, escape_like, fold};
