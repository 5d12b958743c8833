"""Hybrid CTC/attention head (Watanabe et al. 2017): the attention encoder-decoder plus a CTC
branch, trained on ctc_weight * CTC + (1 - ctc_weight) * attention and decoded by the joint
beam search, which scores every hypothesis prefix with the CTC prefix score as it grows.

`forward` gives the attention decoder's memory (B, T', D), as `head=aed` does; the CTC branch is
a linear layer from that memory (the projected encoder states) to the vocabulary. The
tokenizer's blank (id 0) is both the CTC blank and the decoder's <sos>/<eos>.
"""

from pathlib import Path

import torch
from torch import Tensor

from asrlab.data.batch import Batch
from asrlab.decoders.joint_search import NGramScorer, hybrid_scorers, joint_beam_search
from asrlab.decoders.lm import WORD_BOUNDARY, read_arpa
from asrlab.model.ctc import ctc_loss
from asrlab.model.heads.aed import AEDHead
from asrlab.model.probe import ProbeMatrix, posteriorgram
from asrlab.text.tokenizer import Tokenizer


def token_lm(path: str, names: list[str], eos: int) -> NGramScorer:
    """The ARPA LM at `path` over the tokenizer's units `names`; ValueError if it knows none of
    them (a word LM for a character tokenizer)."""
    model = read_arpa(path)
    if not set(names) & set(model.vocab):
        raise ValueError(
            f"head.lm={path}: none of its units is one of the tokenizer's ({' '.join(names[1:6])}"
            " ...): build it of the tokenizer's units (a char tokenizer: asrlab-lm --unit char, "
            "or lm.unit=char for `lm: train`)"
        )
    return NGramScorer(model, names, eos)


class CTCAEDHead(AEDHead):
    """`AEDHead` (its decoder, teacher-forced loss and length guards) with a CTC branch.

    Args (those of `AEDHead` but length_penalty, plus):
        ctc_weight: of the CTC loss in training, within [0, 1].
        decode_ctc_weight: of the CTC prefix score in the joint search, within [0, 1]
            (the attention decoder's weight is 1 - decode_ctc_weight); beam_size 1 is greedy.
        length_normalize: rank the n-best by score per token (<eos> counted) rather than by
            total score (the search then runs to the maximum length).
        lm: an ARPA n-gram LM over the tokenizer's units (for the char tokenizer,
            `asrlab-lm --unit char`), added by shallow fusion; null for none.
        lm_weight: of the LM's natural-log probabilities.
        val_search: how validation decodes: "greedy", the attention decoder's greedy pass over
            the whole batch (the CTC branch unused; cheap, for checkpoint selection and
            pruning), or "beam", the joint search of `decode`.
    """

    def __init__(
        self,
        input_dim: int,
        tokenizer: Tokenizer,
        d_model: int = 144,
        num_layers: int = 2,
        num_heads: int = 4,
        ffn_dim: int = 576,
        dropout: float = 0.1,
        label_smoothing: float = 0.1,
        beam_size: int = 4,
        max_length_ratio: float = 1.0,
        max_positions: int = 512,
        ctc_weight: float = 0.3,
        decode_ctc_weight: float = 0.3,
        length_normalize: bool = False,
        lm: str | None = None,
        lm_weight: float = 0.0,
        val_search: str = "greedy",
    ) -> None:
        for key, weight in (("ctc_weight", ctc_weight), ("decode_ctc_weight", decode_ctc_weight)):
            if not 0 <= weight <= 1:
                raise ValueError(f"head.{key} must be within [0, 1], not {weight}")
        if lm is not None and not Path(lm).is_file():
            raise ValueError(f"head.lm={lm}: no such file (asrlab-lm builds an ARPA LM)")
        if lm is None and lm_weight:
            raise ValueError(f"head.lm_weight={lm_weight} but no head.lm: give an ARPA LM or 0")
        super().__init__(
            input_dim,
            tokenizer,
            d_model,
            num_layers,
            num_heads,
            ffn_dim,
            dropout,
            label_smoothing,
            beam_size,
            float(length_normalize),
            max_length_ratio,
            max_positions,
            val_search,
        )
        self.ctc = torch.nn.Linear(d_model, tokenizer.vocab_size)
        self.ctc_weight = ctc_weight
        self.decode_ctc_weight = decode_ctc_weight
        self.length_normalize = length_normalize
        names = [WORD_BOUNDARY if unit == " " else unit for unit in tokenizer.vocab]
        self.lm = token_lm(lm, names, self.sos_eos) if lm else None
        self.lm_weight = lm_weight

    def ctc_log_probs(self, memory: Tensor) -> Tensor:
        """memory (B, T', D) -> CTC log-probs (B, T', V) float32."""
        return self.ctc(memory).float().log_softmax(dim=-1)

    def loss(self, scores: Tensor, lengths: Tensor, batch: Batch) -> tuple[Tensor, Tensor]:
        """ctc_weight * mean per-token CTC loss + (1 - ctc_weight) * the attention loss on
        memory (B, T', D); the number of utterances too long for their frames for CTC."""
        attention, _ = super().loss(scores, lengths, batch)
        device = scores.device
        ctc, skipped = ctc_loss(
            self.ctc_log_probs(scores),
            lengths.to(device),
            batch.targets.to(device),
            batch.target_lengths.to(device),
            self.sos_eos,
        )
        return self.ctc_weight * ctc + (1 - self.ctc_weight) * attention, skipped

    @torch.no_grad()
    def nbest(self, scores: Tensor, lengths: Tensor) -> list[list[tuple[list[int], float]]]:
        """memory (B, T', D), lengths (B,) -> per utterance, the joint search's `beam_size`
        best (token ids, ranking score), best first."""
        log_probs = self.ctc_log_probs(scores)
        limits = self.max_tokens(lengths).tolist()
        results = []
        for memory, ctc, length, limit in zip(
            scores, log_probs, lengths.tolist(), limits, strict=True
        ):
            memory = memory[:length]

            def step(prefixes: Tensor, memory: Tensor = memory) -> Tensor:
                inputs = torch.nn.functional.pad(prefixes, (1, 0), value=self.sos_eos)
                expanded = memory.expand(len(prefixes), *memory.shape)
                padding = torch.zeros(expanded.shape[:2], dtype=torch.bool, device=memory.device)
                inputs = inputs.to(memory.device)
                return self.next_log_probs(inputs, expanded, padding).cpu()

            scorers = hybrid_scorers(
                step,
                ctc[:length].cpu(),
                self.sos_eos,
                self.decode_ctc_weight,
                self.lm,
                self.lm_weight,
                self.sos_eos,
            )
            hypotheses = joint_beam_search(
                scorers,
                self.tokenizer.vocab_size,
                self.sos_eos,
                limit,
                self.beam_size,
                self.beam_size,
                self.length_normalize,
                self.sos_eos,
            )
            ranked = [(list(h.tokens), h.ranking(self.length_normalize)) for h in hypotheses]
            results.append(ranked)
        return results

    @torch.no_grad()
    def decode(self, scores: Tensor, lengths: Tensor) -> list[str]:
        """memory (B, T', D), lengths (B,) -> the joint search's best transcript per utterance."""
        return [self.tokenizer.decode(h[0][0]) for h in self.nbest(scores, lengths)]

    @torch.no_grad()
    def probe_views(self, scores: Tensor, lengths: Tensor) -> list[list[ProbeMatrix]]:
        """memory (B, T', D), lengths (B,) -> per utterance the attention map of `AEDHead` and
        the CTC branch's posteriorgram (V, T')."""
        log_probs = self.ctc_log_probs(scores)
        return [
            [*views, posteriorgram(ctc[:length], self.tokenizer.vocab)]
            for views, ctc, length in zip(
                super().probe_views(scores, lengths), log_probs, lengths.tolist(), strict=True
            )
        ]
