//! `Channel`: what every object of one reader knows about its channel, for the errors and
//! the representations they show.

use std::path::PathBuf;

/// What every object of one reader knows about its channel.
#[derive(Debug)]
pub struct Channel {
    /// The prefix the reader was opened with.
    pub prefix: PathBuf,
    /// Its state file, which errors name.
    pub state_path: PathBuf,
}

impl Channel {
    pub fn display_path(&self) -> String {
        self.prefix.display().to_string()
    }
}
