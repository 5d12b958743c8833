"""report.md: the decoders side by side, then each one's confusions and worst utterances."""

from pathlib import Path

from asrlab.text.markdown import markdown_table
from asrlab.tools.evaluation.results import DecoderResult, Evaluation


def _percent(value: float) -> str:
    return f"{100 * value:.2f}%"


def _place(utterance_id: str) -> str:
    """`test.jsonl:8` for an utterance id `.../test.jsonl:8` (its manifest line)."""
    return Path(utterance_id).name


def _settings(config: dict) -> str:
    """`BeamDecoder: beam_size=20, ...`: the decoder's class and its settings that are set."""
    settings = ", ".join(
        f"{key}={value}"
        for key, value in config.items()
        if not key.startswith("_") and value is not None
    )
    return f"`{config['_target_'].rsplit('.', 1)[-1]}`" + (f": {settings}" if settings else "")


def _summary(evaluation: Evaluation) -> list[str]:
    skipped = (
        f" ({evaluation.skipped} bad line(s) skipped: see skipped.jsonl)"
        if evaluation.skipped
        else ""
    )
    rows = [
        [
            result.name,
            _percent(result.metrics["wer"]),
            _percent(result.metrics["cer"]),
            _percent(result.metrics["acc"]),
            f"{result.decode_seconds:.2f}",
            f"{result.rtf:.4f}",
        ]
        for result in evaluation.results
    ]
    return [
        f"# Evaluation on {evaluation.split}",
        "",
        f"Checkpoint `{evaluation.checkpoint}`: {evaluation.utterances} utterances, "
        f"{evaluation.audio_seconds / 60:.1f} min of audio{skipped}. The acoustic model took "
        f"{evaluation.acoustic_seconds:.1f} s (real-time factor "
        f"{evaluation.acoustic_rtf:.4f}); each decoder decoded "
        "its output.",
        "",
        *markdown_table(["decoder", "WER", "CER", "exact", "decode s", "decode RTF"], rows),
        "",
    ]


def _decoder(result: DecoderResult, top: int, worst: int) -> list[str]:
    confusions = result.confusions().top(top)
    tables = {
        "Substitutions": (
            ["reference", "hypothesis", "count"],
            [[c["reference"], c["hypothesis"], c["count"]] for c in confusions["substitutions"]],
        ),
        "Insertions": (
            ["word", "count"],
            [[c["word"], c["count"]] for c in confusions["insertions"]],
        ),
        "Deletions": (
            ["word", "count"],
            [[c["word"], c["count"]] for c in confusions["deletions"]],
        ),
        "Worst utterances": (
            ["utterance", "word errors", "words", "alignment"],
            [
                [_place(s.id), s.alignment.errors, len(s.reference.split()), s.alignment.markup()]
                for s in result.worst(worst)
            ],
        ),
    }
    lines = [f"## {result.name}", "", _settings(result.config), ""]
    for title, (header, rows) in tables.items():
        lines += [f"### {title}", "", *(markdown_table(header, rows) if rows else ["None."]), ""]
    return lines


def render_report(evaluation: Evaluation, top: int, worst: int) -> str:
    """The markdown report: a table of the decoders' metrics; per decoder its `top` most frequent
    confusions and its `worst` utterances with their alignments (~~deleted~~, **inserted**,
    ~~reference~~→**hypothesis**)."""
    lines = _summary(evaluation)
    lines += [
        "Alignments: ~~deleted~~, **inserted**, ~~reference~~→**hypothesis** (substituted).",
        "",
    ]
    for result in evaluation.results:
        lines += _decoder(result, top, worst)
    return "\n".join(lines)
