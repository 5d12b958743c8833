"""Scan manifests for lines that would hurt training, and describe the data they hold.

`scan` reads every line of each split's manifest and each audio file (header, then samples) and
returns one `SplitScan` per split: its issues, its clean lines and its statistics.
`build_report` turns the scans into a JSON-ready dict, `render_markdown` renders that dict, and
`write_outputs` writes report.json, report.md and clean/<split>.jsonl.
"""

import json
import math
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from functools import partial
from pathlib import Path

import numpy as np
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from asrlab.data.audio import AudioError, AudioInfo, audio_info, read_audio
from asrlab.data.manifest import (
    Problem,
    Utterance,
    duration_mismatch,
    find_problems,
    read_manifest,
    write_manifest,
)
from asrlab.text.markdown import markdown_table
from asrlab.text.tokenizer import CharTokenizer

EXAMPLES = 3
"""Example lines kept per character the tokenizer cannot encode."""
BAR_WIDTH = 40


@dataclass(frozen=True)
class ScanOptions:
    """What counts as a bad file."""

    sample_rate: int  # the rate training reads at
    splits: Sequence[str] = ("train", "val", "test")
    max_duration: float = 30.0  # seconds
    silence_dbfs: float = -60.0  # RMS level below which a file is silent
    require_rate: bool = False  # another sample rate is an error, not a warning
    duration_tolerance: float = 0.1  # of the file's duration; a manifest's further off is an error
    histogram_bins: int = 20


@dataclass(frozen=True)
class Issue:
    """Something wrong with one manifest line; an error leaves it out of the clean manifest."""

    where: str  # "manifest.jsonl:LINE"
    path: str
    reason: str
    severity: str  # "error" or "warning"


@dataclass
class Stats:
    """What a scan counts, over one split or several."""

    lines: int = 0
    bad: int = 0  # lines with an error
    warned: int = 0  # clean lines with a warning
    durations: list[float] = field(default_factory=list)  # of every readable file
    clean_seconds: float = 0.0
    rates: Counter[int] = field(default_factory=Counter)
    channels: Counter[int] = field(default_factory=Counter)
    chars: Counter[str] = field(default_factory=Counter)  # as written in the manifests
    unencodable: Counter[str] = field(default_factory=Counter)  # character -> lines
    examples: dict[str, list[str]] = field(default_factory=dict)  # character -> "where: text"
    uppercase_lines: int = 0

    def count_text(self, utt: Utterance, tokenizer: CharTokenizer) -> None:
        self.lines += 1
        self.chars.update(utt.text)
        self.uppercase_lines += any(c.isupper() for c in utt.text)
        for char in tokenizer.unknown_chars(utt.text):
            self.unencodable[char] += 1
            self._add_examples(char, [f"{utt.where}: {utt.text}"])

    def count_audio(self, info: AudioInfo) -> None:
        self.durations.append(info.duration)
        self.rates[info.sample_rate] += 1
        self.channels[info.channels] += 1

    def merge(self, other: "Stats") -> None:
        """Add another scan's counts to these."""
        self.lines += other.lines
        self.bad += other.bad
        self.warned += other.warned
        self.durations += other.durations
        self.clean_seconds += other.clean_seconds
        for mine, theirs in [
            (self.rates, other.rates),
            (self.channels, other.channels),
            (self.chars, other.chars),
            (self.unencodable, other.unencodable),
        ]:
            mine.update(theirs)
        for char, examples in other.examples.items():
            self._add_examples(char, examples)
        self.uppercase_lines += other.uppercase_lines

    def _add_examples(self, char: str, examples: list[str]) -> None:
        kept = self.examples.setdefault(char, [])
        kept += examples[: EXAMPLES - len(kept)]


@dataclass
class SplitScan:
    """One split's manifest, scanned."""

    split: str
    manifest: Path
    stats: Stats
    issues: list[Issue]
    clean: list[dict]  # manifest entries: absolute audio path, measured duration, text


def rms_dbfs(wave: np.ndarray) -> float:
    """The RMS level of a waveform in dB relative to full scale (-inf for digital silence)."""
    rms = math.sqrt(float(np.mean(np.square(wave, dtype=np.float64))))
    return 20 * math.log10(rms) if rms > 0 else -math.inf


def audio_issues(utt: Utterance, options: ScanOptions) -> tuple[AudioInfo | None, list[Issue]]:
    """The file's header (None when unreadable) and what is wrong with its audio."""
    issue = partial(Issue, utt.where, str(utt.audio_filepath))
    try:
        info = audio_info(utt.audio_filepath)
    except AudioError as err:
        return None, [issue(str(err), "error")]
    issues = []
    if mismatch := duration_mismatch(utt.duration, info.duration, options.duration_tolerance):
        issues.append(issue(mismatch, "error"))
    if info.sample_rate != options.sample_rate:
        rate = f"sample rate {info.sample_rate} Hz, expected {options.sample_rate} Hz"
        issues.append(
            issue(f"{rate} (require_rate)", "error")
            if options.require_rate
            else issue(f"{rate}: will be resampled", "warning")
        )
    if info.duration > options.max_duration:
        # Bad already, and the samples of a very long file are costly to load.
        too_long = f"too long: {info.duration:.2f} s > max_duration {options.max_duration:g} s"
        return info, [*issues, issue(too_long, "error")]
    try:
        level = rms_dbfs(read_audio(utt.audio_filepath, info.sample_rate).numpy())
    except AudioError as err:
        return info, [*issues, issue(str(err), "error")]
    if level < options.silence_dbfs:
        silent = f"silent: RMS {level:.1f} dBFS < silence_dbfs {options.silence_dbfs:g}"
        issues.append(issue(silent, "error"))
    return info, issues


def _scan_split(
    split: str,
    manifest: Path,
    utterances: list[Utterance],
    malformed: list[Problem],
    tokenizer: CharTokenizer,
    options: ScanOptions,
    advance: Callable[[], object],
) -> SplitScan:
    """Check every line of one split (`malformed`: those that did not parse); calls `advance`
    after each parsed one."""
    problems = find_problems(utterances, tokenizer, check_audio=False)
    transcripts = {problem.index: problem.message for problem in problems}
    result = SplitScan(split, manifest, Stats(), [], [])
    result.issues += [Issue(p.where, "", p.message, "error") for p in malformed]
    result.stats.lines = result.stats.bad = len(malformed)
    for index, utt in enumerate(utterances):
        info, issues = audio_issues(utt, options)
        if index in transcripts:
            issues.append(Issue(utt.where, str(utt.audio_filepath), transcripts[index], "error"))
        result.stats.count_text(utt, tokenizer)
        if info is not None:
            result.stats.count_audio(info)
        result.issues += issues
        if info is None or any(issue.severity == "error" for issue in issues):
            result.stats.bad += 1
        else:
            result.stats.warned += bool(issues)
            result.stats.clean_seconds += info.duration
            result.clean.append(
                {"audio_filepath": utt.audio_filepath, "duration": info.duration, "text": utt.text}
            )
        advance()
    return result


def scan(
    manifests: dict[str, Path],
    tokenizer: CharTokenizer,
    options: ScanOptions,
    progress: bool = True,
) -> list[SplitScan]:
    """Scan each split's manifest (with a progress bar); lines that do not parse are errors.
    Raises ManifestError when a manifest is missing or empty."""
    malformed: dict[str, list[Problem]] = {split: [] for split in manifests}
    splits = {split: read_manifest(path, malformed[split]) for split, path in manifests.items()}
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    with Progress(*columns, disable=not progress) as bar:
        tasks = {
            split: bar.add_task(f"scan {split}", total=len(utts)) for split, utts in splits.items()
        }
        return [
            _scan_split(
                split,
                manifests[split],
                utts,
                malformed[split],
                tokenizer,
                options,
                partial(bar.advance, tasks[split]),
            )
            for split, utts in splits.items()
        ]


def _char_status(char: str, tokenizer: CharTokenizer) -> str:
    """kept (in the alphabet), normalised (changed or dropped, still encodable) or unencodable."""
    if char in tokenizer.alphabet:
        return "kept"
    return "unencodable" if tokenizer.unknown_chars(char) else "normalised"


def _summary(stats: Stats, edges: np.ndarray, tokenizer: CharTokenizer) -> dict:
    """The JSON-ready facts of one split, or of all."""
    durations = np.array(stats.durations)
    counts, _ = np.histogram(durations, bins=edges)
    return {
        "lines": stats.lines,
        "clean": stats.lines - stats.bad,
        "bad": stats.bad,
        "warned": stats.warned,
        "hours": float(durations.sum()) / 3600,
        "clean_hours": stats.clean_seconds / 3600,
        "duration_s": {
            "min": float(durations.min()),
            "mean": float(durations.mean()),
            "max": float(durations.max()),
        }
        if durations.size
        else None,
        "histogram": {"edges": edges.tolist(), "counts": counts.tolist()},
        "sample_rates": {str(rate): n for rate, n in sorted(stats.rates.items())},
        "channels": {str(channels): n for channels, n in sorted(stats.channels.items())},
        "characters": [
            {"char": char, "count": n, "status": _char_status(char, tokenizer)}
            for char, n in stats.chars.most_common()
        ],
        "unencodable": {
            char: {"lines": n, "examples": stats.examples[char]}
            for char, n in stats.unencodable.most_common()
        },
        "uppercase": {
            "lines": stats.uppercase_lines,
            "letters": "".join(sorted(c for c in stats.chars if c.isupper())),
        },
    }


def build_report(scans: list[SplitScan], tokenizer: CharTokenizer, options: ScanOptions) -> dict:
    """Every fact of the scan, per split and overall, as a JSON-ready dict.

    All histograms share one set of bins, so that splits compare at a glance.
    """
    overall = Stats()
    for split in scans:
        overall.merge(split.stats)
    edges = np.histogram_bin_edges(overall.durations, bins=options.histogram_bins)
    return {
        "options": {**asdict(options), "splits": list(options.splits)},
        "alphabet": tokenizer.alphabet,
        "splits": {
            split.split: {
                "manifest": str(split.manifest),
                "clean_manifest": f"clean/{split.split}.jsonl",
                **_summary(split.stats, edges, tokenizer),
                "issues": [asdict(issue) for issue in split.issues],
            }
            for split in scans
        },
        "overall": _summary(overall, edges, tokenizer),
    }


def _histogram(histogram: dict) -> list[str]:
    """Text bars, one per bin, in a code block."""
    edges, counts = histogram["edges"], histogram["counts"]
    top = max(counts, default=0) or 1
    bars = [
        f"{lo:8.2f} - {hi:8.2f} s  {'█' * round(BAR_WIDTH * n / top):<{BAR_WIDTH}}  {n}"
        for lo, hi, n in zip(edges, edges[1:], counts, strict=False)
    ]
    return ["```", *bars, "```"]


def _counter(counts: dict[str, int], unit: str) -> str:
    return ", ".join(f"{key}{unit} × {n}" for key, n in counts.items()) or "none"


def _section(title: str, summary: dict) -> list[str]:
    """The markdown of one split's (or the overall) statistics."""
    lines = [f"## {title}", ""]
    if duration := summary["duration_s"]:
        lines += [
            f"Durations: min {duration['min']:.2f} s, mean {duration['mean']:.2f} s, "
            f"max {duration['max']:.2f} s",
            "",
        ]
    lines += [
        *_histogram(summary["histogram"]),
        "",
        f"Sample rates: {_counter(summary['sample_rates'], ' Hz')}. "
        f"Channels: {_counter(summary['channels'], '')}.",
        "",
    ]
    if upper := summary["uppercase"]["lines"]:
        lines += [
            f"Upper case: {upper} line(s) have upper-case letters "
            f"({summary['uppercase']['letters']}); normalisation lowercases them.",
            "",
        ]
    lines += [
        "### Characters",
        "",
        *markdown_table(
            ["char", "count", "status"],
            [[repr(c["char"]), c["count"], c["status"]] for c in summary["characters"]],
        ),
        "",
    ]
    if unencodable := summary["unencodable"]:
        lines += [
            "### Characters the tokenizer cannot encode",
            "",
            *markdown_table(
                ["char", "lines", "examples"],
                [
                    [repr(char), u["lines"], "<br>".join(u["examples"])]
                    for char, u in unencodable.items()
                ],
            ),
            "",
        ]
    return lines


def render_markdown(report: dict) -> str:
    """The human-readable report: an overview, then overall and per-split details."""
    options, splits = report["options"], report["splits"]
    totals = [*splits.items(), ("all", report["overall"])]
    rows = [
        [
            name,
            s["lines"],
            s["clean"],
            s["bad"],
            s["warned"],
            f"{s['hours']:.3f}",
            f"{s['clean_hours']:.3f}",
        ]
        for name, s in totals
    ]
    lines = [
        "# Data scan",
        "",
        f"Expected sample rate {options['sample_rate']} Hz"
        f"{' (required)' if options['require_rate'] else ''}, max duration "
        f"{options['max_duration']:g} s, silent below {options['silence_dbfs']:g} dBFS RMS, "
        f"tokenizer alphabet {report['alphabet']!r}.",
        "",
        *markdown_table(["split", "lines", "clean", "bad", "warned", "hours", "clean hours"], rows),
        "",
        *_section("All splits", report["overall"]),
    ]
    for name, split in splits.items():
        lines += _section(f"Split {name}", split)
        lines += [
            f"Manifest `{split['manifest']}`; clean manifest `{split['clean_manifest']}`.",
            "",
            "### Issues",
            "",
        ]
        lines += (
            markdown_table(
                ["line", "path", "severity", "reason"],
                [[i["where"], i["path"], i["severity"], i["reason"]] for i in split["issues"]],
            )
            if split["issues"]
            else ["None."]
        )
        lines.append("")
    return "\n".join(lines)


def write_outputs(scans: list[SplitScan], report: dict, out_dir: Path) -> None:
    """report.json, report.md and clean/<split>.jsonl in `out_dir`."""
    out_dir.mkdir(parents=True, exist_ok=True)
    for split in scans:
        write_manifest(out_dir / "clean" / f"{split.split}.jsonl", split.clean)
    text = json.dumps(report, indent=2, ensure_ascii=False)
    (out_dir / "report.json").write_text(text + "\n", encoding="utf-8")
    (out_dir / "report.md").write_text(render_markdown(report), encoding="utf-8")
