//! Singer protocol pieces shared by the runtime and the native plugins: the fast line framer and
//! message classifier used by the relay, and Meltano's catalog rules (select, metadata, schema).

pub mod catalog;
pub mod classify;
pub mod framer;
pub mod json_value;
