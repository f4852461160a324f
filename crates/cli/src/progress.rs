//! Progress bars on stderr (hidden when stderr is not a terminal), behind the engine's
//! [`entk_ntk::Progress`] trait.

use indicatif::{ProgressBar, ProgressStyle};

/// A progress bar for `total` work units with a message.
pub struct Bar {
    bar: ProgressBar,
}

impl Bar {
    /// A bar drawn on stderr (indicatif hides it when stderr is not a terminal).
    pub fn new(message: &str) -> Self {
        let bar = ProgressBar::new(0);
        bar.set_style(
            ProgressStyle::with_template(
                "{msg} [{bar:30}] {pos}/{len} pairs, {elapsed_precise} elapsed, eta {eta}",
            )
            .expect("valid template")
            .progress_chars("=> "),
        );
        bar.set_message(message.to_string());
        Self { bar }
    }
    /// Clears the bar.
    pub fn finish(&self) {
        self.bar.finish_and_clear();
    }
}

impl entk_ntk::Progress for Bar {
    fn update(&self, done: usize, total: usize) {
        self.bar.set_length(total as u64);
        self.bar.set_position(done as u64);
    }
}
