"""One utterance's errors (word alignment, character edits) and the word confusions of many."""

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import jiwer

from asrlab.text.alignment import WordAlignment, align_words


@dataclass(frozen=True)
class UtteranceScore:
    """A hypothesis against its reference (both normalised). `char_edits` is the character edit
    distance, the utterance's share of the CER's numerator."""

    id: str
    reference: str
    hypothesis: str
    alignment: WordAlignment
    char_edits: int

    def record(self) -> dict[str, Any]:
        """The utterance's JSONL line: texts, reference lengths (words, characters), errors."""
        return {
            "id": self.id,
            "reference": self.reference,
            "hypothesis": self.hypothesis,
            "words": len(self.reference.split()),
            "substitutions": self.alignment.substitutions,
            "insertions": self.alignment.insertions,
            "deletions": self.alignment.deletions,
            "word_errors": self.alignment.errors,
            "chars": len(self.reference),
            "char_edits": self.char_edits,
        }


def score_utterance(utterance_id: str, reference: str, hypothesis: str) -> UtteranceScore:
    chars = jiwer.process_characters(reference, hypothesis)
    char_edits = chars.substitutions + chars.insertions + chars.deletions
    alignment = align_words(reference, hypothesis)
    return UtteranceScore(utterance_id, reference, hypothesis, alignment, char_edits)


@dataclass
class Confusions:
    """How often each word pair was substituted (reference, hypothesis), and each word inserted
    and deleted."""

    substitutions: Counter[tuple[str, str]] = field(default_factory=Counter)
    insertions: Counter[str] = field(default_factory=Counter)
    deletions: Counter[str] = field(default_factory=Counter)

    @classmethod
    def of(cls, alignments: Iterable[WordAlignment]) -> "Confusions":
        confusions = cls()
        for alignment in alignments:
            for edit in alignment.edits:
                if edit.op == "substitute":
                    confusions.substitutions[edit.ref, edit.hyp] += 1
                elif edit.op == "insert":
                    confusions.insertions[edit.hyp] += 1
                elif edit.op == "delete":
                    confusions.deletions[edit.ref] += 1
        return confusions

    def top(self, n: int) -> dict[str, list[dict[str, Any]]]:
        """The `n` most frequent of each kind, most frequent first (JSON-ready)."""
        return {
            "substitutions": [
                {"reference": ref, "hypothesis": hyp, "count": count}
                for (ref, hyp), count in self.substitutions.most_common(n)
            ],
            "insertions": [
                {"word": word, "count": count} for word, count in self.insertions.most_common(n)
            ],
            "deletions": [
                {"word": word, "count": count} for word, count in self.deletions.most_common(n)
            ],
        }
