//! The engine behind `smelt run`: turns block names into a plan, launches plugins as supervised
//! subprocesses, relays Singer messages between them, persists acknowledged state and records
//! each run. Everything a run reports goes as typed events to one coordinator per run.

pub mod blocks;
pub mod catalog;
pub mod command_block;
pub mod config_test;
pub mod context;
pub mod coordinator;
pub mod el;
pub mod elt;
pub mod error;
pub mod events;
pub mod invoke;
pub mod launch;
pub mod log;
pub mod plan;
pub mod process;
pub mod relay;
pub mod report;
pub mod rundir;
pub mod runner;
pub mod signals;
pub mod state_store;
pub mod summary;
pub mod supervise;

pub use blocks::{parse_blocks, Block, EltSet, MapperStep};
pub use error::RunError;
pub use log::{LogFormat, LogLevel, Logger};
pub use runner::{run_blocks, RunContext, RunOptions, RunReport};
