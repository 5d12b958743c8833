"""What one check found: how bad, in a line, what to do about it, and the offending items."""

from dataclasses import dataclass, field
from typing import Any, Literal

Severity = Literal["ok", "warning", "fatal"]
SEVERITIES: tuple[Severity, ...] = ("ok", "warning", "fatal")


@dataclass
class Finding:
    """The outcome of one check. `rows` list the offending items (utterances, characters),
    all with the same keys; `fix` names what to change when something is wrong."""

    check: str
    severity: Severity
    summary: str
    fix: str = ""
    rows: list[dict[str, Any]] = field(default_factory=list)


def worst(findings: list[Finding]) -> Severity:
    """The most severe of the findings' severities ("ok" for none)."""
    return max((f.severity for f in findings), key=SEVERITIES.index, default="ok")


def describe(finding: Finding, max_rows: int) -> str:
    """A finding as plain text: `[check] summary`, its first `max_rows` rows, then the fix."""
    lines = [f"[{finding.check}] {finding.summary}"]
    for row in finding.rows[:max_rows]:
        lines.append("  " + ", ".join(f"{key}={value}" for key, value in row.items()))
    if len(finding.rows) > max_rows:
        lines.append(f"  ... and {len(finding.rows) - max_rows} more")
    if finding.fix and finding.severity != "ok":
        lines.append(f"  fix: {finding.fix}")
    return "\n".join(lines)
