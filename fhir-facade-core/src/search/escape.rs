//! TODO-skeleton escape
