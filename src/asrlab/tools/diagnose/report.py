"""The doctor's findings as report.json (everything), report.md (readable) and console lines."""

import json
import logging
from dataclasses import asdict
from pathlib import Path

from asrlab.text.markdown import markdown_table
from asrlab.training.preflight.findings import Finding, describe, worst

log = logging.getLogger(__name__)

LEVELS = {"ok": logging.INFO, "warning": logging.WARNING, "fatal": logging.ERROR}


def render_markdown(findings: list[Finding], max_rows: int) -> str:
    """An overview table, then each finding: summary, fix and its first `max_rows` rows."""
    lines = [
        "# Doctor",
        "",
        f"Status: **{worst(findings)}**",
        "",
        *markdown_table(
            ["check", "severity", "summary"], [[f.check, f.severity, f.summary] for f in findings]
        ),
        "",
    ]
    for finding in findings:
        if finding.severity == "ok":
            continue
        lines += [f"## {finding.check}: {finding.severity}", "", finding.summary, ""]
        if finding.fix:
            lines += [f"Fix: {finding.fix}.", ""]
        if rows := finding.rows:
            header = list(rows[0])
            shown = [[row[key] for key in header] for row in rows[:max_rows]]
            lines += [*markdown_table(header, shown), ""]
            if len(rows) > max_rows:
                lines += [f"... and {len(rows) - max_rows} more in report.json.", ""]
    return "\n".join(lines)


def write_report(findings: list[Finding], out_dir: Path, max_rows: int) -> Path:
    """report.json and report.md in `out_dir`; returns report.md's path."""
    out_dir.mkdir(parents=True, exist_ok=True)
    report = {"status": worst(findings), "findings": [asdict(f) for f in findings]}
    text = json.dumps(report, indent=2, ensure_ascii=False)
    (out_dir / "report.json").write_text(text + "\n", encoding="utf-8")
    path = out_dir / "report.md"
    path.write_text(render_markdown(findings, max_rows), encoding="utf-8")
    return path


def log_findings(findings: list[Finding], max_rows: int) -> None:
    """One log record per finding, at INFO (ok), WARNING or ERROR (fatal)."""
    for finding in findings:
        log.log(LEVELS[finding.severity], describe(finding, max_rows))
