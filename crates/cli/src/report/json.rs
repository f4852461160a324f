//! The JSON report (the README's `--json` fields plus settings, tables, figures, notes, extra).

use std::path::Path;

use super::{ensure_parent, ExperimentReport, ReportWriter};
use crate::npy::write_text;
use crate::CliError;

/// Writes the report as pretty-printed JSON.
#[derive(Debug, Clone, Copy, Default)]
pub struct JsonWriter;

impl JsonWriter {
    /// Reads a report written by [`JsonWriter`]; `None` when the file is missing or is not a
    /// report (e.g. from an older version), so callers can recompute.
    pub fn read(path: &Path) -> Option<ExperimentReport> {
        let text = std::fs::read_to_string(path).ok()?;
        serde_json::from_str(&text).ok()
    }
}

impl ReportWriter for JsonWriter {
    fn extension(&self) -> &'static str {
        "json"
    }
    fn write(&self, report: &ExperimentReport, path: &Path) -> Result<(), CliError> {
        ensure_parent(path)?;
        let text = serde_json::to_string_pretty(report)
            .map_err(|e| CliError::Usage(format!("cannot serialise the report: {e}")))?;
        write_text(path, &(text + "\n"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::tests::{sample_report, write_sample};

    #[test]
    fn json_round_trips() {
        let (dir, path) = write_sample(&JsonWriter, "sub/r.json");
        assert_eq!(JsonWriter::read(&path).unwrap(), sample_report());
        assert!(!dir.path().join("sub/r.json.partial").exists());
    }

    #[test]
    fn unreadable_json_reads_as_none() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r.json");
        std::fs::write(&path, "{\"experiment\": 1}").unwrap();
        assert!(JsonWriter::read(&path).is_none());
        assert!(JsonWriter::read(&dir.path().join("missing.json")).is_none());
    }
}
