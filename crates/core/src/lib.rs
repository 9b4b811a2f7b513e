//! The clinic's rules, shared by the desktop console, the `digimed` command-line tool and the
//! HTTP service. Nothing here knows which face called it.

pub mod audit;
pub mod config;
pub mod db;
pub mod demo;
pub mod error;
pub mod keys;
pub mod patients;
pub mod session;
pub mod staff;

pub use error::{Error, ErrorCode, Result};
