//! The stored-state reader (`state.json`, a system-database row, an export file) on
//! arbitrary bytes.
//!
//! Checks: no panic; a document that reads back is written in Meltano's layout and reads back
//! to the same state; the run rules (`record_ack`, `complete_run`) and the views over a state
//! never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use serde_json::Value;
use smelt_state::ops::{parse_state_value, StateExport};
use smelt_state::{JobState, StateStrategy};

fuzz_target!(|data: &[u8]| {
    if let Ok(state) = JobState::from_json(data) {
        let written = state.to_meltano_json();
        let again = JobState::from_json(&written).expect("a state we wrote must read back");
        assert_eq!(again, state, "state changed on a write/read round trip");
        let _ = state.to_stored_json();
        let _ = state.effective_state();
        let _ = state.is_empty();
        let ack = state.effective_singer_state().unwrap_or(Value::Null);
        for strategy in [
            StateStrategy::Auto,
            StateStrategy::Merge,
            StateStrategy::Overwrite,
        ] {
            let mut s = state.clone();
            s.record_ack(ack.clone(), strategy);
            s.record_ack(state.completed.clone(), strategy);
            s.complete_run(strategy);
            let _ = s.to_stored_json();
        }
    }
    let _ = StateExport::from_json(data, "fuzz");
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = parse_state_value(text, "fuzz");
    }
});
