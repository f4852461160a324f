//! Markdown rendering of a report: a section with settings, tables, the plot and notes.

use std::fmt::Write as _;
use std::path::Path;

use super::{ensure_parent, ExperimentReport, ReportWriter, Table};
use crate::npy::write_text;
use crate::CliError;

/// Writes one experiment as a Markdown document ([`markdown_section`] under a title).
#[derive(Debug, Clone, Default)]
pub struct MarkdownWriter {
    /// Image file (relative to the Markdown file) to embed, if any.
    pub plot: Option<String>,
}

impl ReportWriter for MarkdownWriter {
    fn extension(&self) -> &'static str {
        "md"
    }
    fn write(&self, report: &ExperimentReport, path: &Path) -> Result<(), CliError> {
        ensure_parent(path)?;
        write_text(path, &markdown_section(report, self.plot.as_deref(), 1))
    }
}

fn escape(cell: &str) -> String {
    cell.replace('|', "\\|").replace('\n', " ")
}

/// A Markdown table.
pub fn markdown_table(t: &Table) -> String {
    let mut out = String::new();
    if !t.title.is_empty() {
        let _ = writeln!(out, "**{}**\n", escape(&t.title));
    }
    let _ = writeln!(
        out,
        "| {} |",
        t.header
            .iter()
            .map(|h| escape(h))
            .collect::<Vec<_>>()
            .join(" | ")
    );
    let _ = writeln!(out, "|{}", "---|".repeat(t.header.len()));
    for r in &t.rows {
        let cells: Vec<String> = (0..t.header.len())
            .map(|i| escape(r.get(i).map(String::as_str).unwrap_or("")))
            .collect();
        let _ = writeln!(out, "| {} |", cells.join(" | "));
    }
    out
}

/// One experiment as Markdown: a heading at `level`, the run line, tables, the plot (if
/// `plot` names an image file), notes and the settings as a JSON block.
pub fn markdown_section(report: &ExperimentReport, plot: Option<&str>, level: usize) -> String {
    let h = "#".repeat(level.max(1));
    let mut out = String::new();
    let _ = writeln!(out, "{h} `{}`\n", report.experiment);
    let _ = writeln!(
        out,
        "Train {}, test {}, seed {},{} {:.1} s.\n",
        report.train,
        report.test,
        report.seed,
        report.mode_words(),
        report.seconds
    );
    for t in &report.tables {
        out.push_str(&markdown_table(t));
        out.push('\n');
    }
    if let Some(p) = plot {
        let _ = writeln!(out, "![{}]({p})\n", report.experiment);
    }
    if !report.notes.is_empty() {
        for n in &report.notes {
            let _ = writeln!(out, "- {n}");
        }
        out.push('\n');
    }
    if !report.settings.is_null() {
        let _ = writeln!(
            out,
            "<details><summary>settings</summary>\n\n```json\n{}\n```\n\n</details>\n",
            serde_json::to_string_pretty(&report.settings).unwrap_or_default()
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::tests::sample_report;

    #[test]
    fn markdown_has_tables_plot_and_notes() {
        let r = sample_report();
        let md = markdown_section(&r, Some("demo.png"), 2);
        assert!(md.starts_with("## `demo`"));
        assert!(md.contains("| model | accuracy |\n|---|---|\n| cnn | 50.0 % |"));
        assert!(md.contains("![demo](demo.png)"));
        assert!(md.contains("- a note"));
        assert!(md.contains("\"a\": 1"));
    }

    #[test]
    fn markdown_writer_writes_a_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r.md");
        MarkdownWriter { plot: None }
            .write(&sample_report(), &path)
            .unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.starts_with("# `demo`"));
    }

    #[test]
    fn pipes_in_cells_are_escaped() {
        let mut t = Table::new("", &["a"]);
        t.push(vec!["x|y".into()]);
        assert!(markdown_table(&t).contains("x\\|y"));
    }
}
