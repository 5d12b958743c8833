"""Can the tokenizer encode every transcript? A case mismatch is told apart from other gaps.

The tokenizers lower-case every transcript before encoding (`normalize_text`), so upper-case
transcripts are fine, but an alphabet with upper-case letters can never match them.
"""

from asrlab.data.manifest import Utterance
from asrlab.data.scan import EXAMPLES, Stats
from asrlab.text.tokenizer import AlphabetTokenizer, CharTokenizer
from asrlab.training.preflight.findings import Finding

EMPTY = "(empty transcript)"
SKIP_LINES = (
    "or leave those lines out (data.on_error=skip, or the clean manifests asrlab-data writes)"
)


def coverage(utterances: dict[str, list[Utterance]], tokenizer: AlphabetTokenizer) -> Finding:
    """Characters the tokenizer cannot encode (case mismatches named as such), empty
    transcripts, and alphabet entries that normalisation never produces."""
    stats = Stats()
    empty: list[str] = []
    for utts in utterances.values():
        for utt in utts:
            stats.count_text(utt, tokenizer)
            if not tokenizer.normalize(utt.text):
                empty.append(f"{utt.where}: {utt.text!r}")
    alphabet = tokenizer.alphabet
    case = [c for c in stats.unencodable if c != c.swapcase() and c.swapcase() in alphabet]
    rows = [
        {
            "char": repr(char),
            "lines": lines,
            "alphabet has": repr(char.swapcase()) if char in case else "",
            "examples": " | ".join(stats.examples[char]),
        }
        for char, lines in stats.unencodable.most_common()
    ]
    if empty:
        rows.append(
            {
                "char": EMPTY,
                "lines": len(empty),
                "alphabet has": "",
                "examples": " | ".join(empty[:EXAMPLES]),
            }
        )
    if rows:
        summary, fix = _problems(stats, case, len(empty), tokenizer)
        return Finding("coverage", "fatal", summary, fix, rows)
    if dead := [c for c in alphabet if c != " " and tokenizer.normalize(c) != c]:
        return Finding(
            "coverage",
            "warning",
            f"every transcript is encodable, but the alphabet holds {''.join(dead)!r}, which "
            "the text normalisation never produces (it lower-cases and drops punctuation): "
            "output classes that are never a target",
            f"remove {''.join(dead)!r} from tokenizer.alphabet",
        )
    upper = stats.uppercase_lines
    return Finding(
        "coverage",
        "ok",
        f"all {stats.lines} transcripts are encodable"
        + (f" ({upper} with upper-case letters, which the tokenizer lower-cases)" if upper else ""),
    )


def _problems(
    stats: Stats, case: list[str], empty: int, tokenizer: AlphabetTokenizer
) -> tuple[str, str]:
    """The summary and the fix of a fatal coverage finding."""
    summaries, fixes = [], []
    if case:
        letters = "".join(sorted(case))
        summaries.append(
            f"case mismatch: the transcripts' letters {letters!r} are in the tokenizer's alphabet "
            f"only as {letters.swapcase()!r}, and the tokenizer lower-cases every transcript "
            "before encoding"
        )
        lower = "".join(dict.fromkeys(tokenizer.alphabet.lower()))
        fixes.append(f"a lower-case alphabet: tokenizer.alphabet={lower!r}")
    if other := [c for c in stats.unencodable if c not in case]:
        lines = sum(stats.unencodable[c] for c in other)
        summaries.append(
            f"{len(other)} character(s) {''.join(sorted(other))!r} cannot be encoded "
            f"({lines} line(s))"
        )
        if isinstance(tokenizer, CharTokenizer):
            fixes.append(f"add them to tokenizer.alphabet, rewrite those transcripts, {SKIP_LINES}")
        else:
            fixes.append(
                "BPE learns its characters from the train split, which lacks them: rewrite "
                f"those transcripts, {SKIP_LINES}"
            )
    if empty:
        summaries.append(f"{empty} transcript(s) are empty once normalised")
        fixes.append(f"give them their transcript, {SKIP_LINES}")
    return "; ".join(summaries), "; ".join(fixes)
