"""Word alignment of a hypothesis to its reference (jiwer): edit operations and error counts."""

from dataclasses import dataclass
from typing import Literal

import jiwer

Op = Literal["equal", "substitute", "insert", "delete"]


@dataclass(frozen=True)
class Edit:
    """One aligned step: `ref` is "" for an insertion, `hyp` is "" for a deletion."""

    op: Op
    ref: str
    hyp: str


@dataclass(frozen=True)
class WordAlignment:
    edits: list[Edit]

    def count(self, op: Op) -> int:
        return sum(edit.op == op for edit in self.edits)

    @property
    def substitutions(self) -> int:
        return self.count("substitute")

    @property
    def insertions(self) -> int:
        return self.count("insert")

    @property
    def deletions(self) -> int:
        return self.count("delete")

    @property
    def errors(self) -> int:
        return self.substitutions + self.insertions + self.deletions

    def markup(self) -> str:
        """Markdown: ~~deleted~~, **inserted**, ~~ref~~→**hyp** for substitutions."""
        words = []
        for edit in self.edits:
            if edit.op == "equal":
                words.append(edit.ref)
            elif edit.op == "delete":
                words.append(f"~~{edit.ref}~~")
            elif edit.op == "insert":
                words.append(f"**{edit.hyp}**")
            else:
                words.append(f"~~{edit.ref}~~→**{edit.hyp}**")
        return " ".join(words)


def align_words(reference: str, hypothesis: str) -> WordAlignment:
    """Minimal word-level edit alignment of `hypothesis` to `reference` (both normalised)."""
    ref, hyp = reference.split(), hypothesis.split()
    if not ref:
        return WordAlignment([Edit("insert", "", word) for word in hyp])
    if not hyp:
        return WordAlignment([Edit("delete", word, "") for word in ref])
    (chunks,) = jiwer.process_words(reference, hypothesis).alignments
    edits: list[Edit] = []
    for chunk in chunks:
        refs = ref[chunk.ref_start_idx : chunk.ref_end_idx]
        hyps = hyp[chunk.hyp_start_idx : chunk.hyp_end_idx]
        if chunk.type in ("equal", "substitute"):
            edits += [Edit(chunk.type, r, h) for r, h in zip(refs, hyps, strict=True)]
        elif chunk.type == "insert":
            edits += [Edit("insert", "", h) for h in hyps]
        else:
            edits += [Edit("delete", r, "") for r in refs]
    return WordAlignment(edits)
