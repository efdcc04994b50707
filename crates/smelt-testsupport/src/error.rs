//! The harness's error: a sentence for the person reading a failed test, saying what could not
//! be installed or started and how to do it by hand.

use std::fmt;

/// Installing, starting or talking to an emulator failed. The message is complete and meant
/// to be shown as-is (tests panic with it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HarnessError {
    message: String,
}

impl HarnessError {
    /// An error with the given complete message.
    pub fn new(message: impl Into<String>) -> Self {
        HarnessError {
            message: message.into(),
        }
    }

    /// The message, for assertions.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for HarnessError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for HarnessError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn displays_the_message_verbatim() {
        let e = HarnessError::new("moto could not start; run it by hand");
        assert_eq!(e.to_string(), "moto could not start; run it by hand");
        assert_eq!(e.message(), "moto could not start; run it by hand");
    }
}
