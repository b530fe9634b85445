//! Progress bars on stderr for long builds and installs (hidden when stderr is not a terminal).

use indicatif::{ProgressBar, ProgressStyle};

/// A byte-count bar that a core progress callback `(done, total)` drives.
pub struct BytesBar {
    bar: ProgressBar,
}

impl BytesBar {
    pub fn new(label: &str) -> Self {
        let bar = ProgressBar::new(0);
        let style =
            ProgressStyle::with_template("{msg:>10} [{bar:30}] {bytes}/{total_bytes} ({eta})")
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> ");
        bar.set_style(style);
        bar.set_message(label.to_string());
        BytesBar { bar }
    }

    pub fn update(&self, done: u64, total: u64) {
        self.bar.set_length(total);
        self.bar.set_position(done);
    }

    pub fn finish(self) {
        self.bar.finish_and_clear();
    }
}
