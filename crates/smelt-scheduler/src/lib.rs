//! smelt's built-in scheduler (`smelt schedule serve`): cron intervals and their next fire
//! times ([`cron`]), retries with exponential backoff ([`retry`]), catch-up after downtime
//! ([`catchup`]), the tick loop ([`serve`]) and the status file ([`status`]).
//!
//! The crate starts no process and opens no database: the binary gives the loop a
//! [`serve::Host`] that launches each run as a child `smelt` process and claims ticks in the
//! system database, so the rules here are tested with a simulated clock.

pub mod catchup;
pub mod cron;
pub mod retry;
pub mod serve;
pub mod status;

pub use catchup::CatchUp;
pub use cron::{CronError, Interval};
pub use retry::RetryPolicy;
pub use serve::{serve, Host, Outcome, ScheduleSpec, ServeOptions, Stopped, TickStatus};
pub use status::{ScheduleStatus, Status};
