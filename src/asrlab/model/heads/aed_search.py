"""Autoregressive searches over an attention decoder: batched greedy, and beam with n-best.

`step(prefixes (K, t), memory (K, T', D), padding (K, T')) -> log-probs (K, V)` scores the next
token of each prefix; `sos_eos` is both the start symbol and the end symbol. Both searches stop
at `max_len` tokens: a hypothesis that never ends is returned as it stands.
"""

from collections.abc import Callable

import torch
from torch import Tensor

Step = Callable[[Tensor, Tensor, Tensor], Tensor]


def greedy_search(
    step: Step, memory: Tensor, padding: Tensor, max_lens: Tensor, sos_eos: int
) -> list[list[int]]:
    """memory (B, T', D), padding (B, T') True on padded frames, max_lens (B,)
    -> the best token at every step, per utterance, up to its end symbol or max length."""
    batch = memory.size(0)
    prefixes = torch.full((batch, 1), sos_eos, dtype=torch.long, device=memory.device)
    done = max_lens.to(memory.device) <= 0
    for t in range(int(max_lens.max())):
        if done.all():
            break
        best = step(prefixes, memory, padding).argmax(dim=-1)
        best = best.masked_fill(done, sos_eos)
        prefixes = torch.cat([prefixes, best.unsqueeze(1)], dim=1)
        done |= (best == sos_eos) | (max_lens.to(memory.device) <= t + 1)
    return [[i for i in row if i != sos_eos] for row in prefixes[:, 1:].tolist()]


def beam_search(
    step: Step,
    memory: Tensor,
    max_len: int,
    sos_eos: int,
    beam_size: int,
    length_penalty: float,
) -> list[tuple[list[int], float]]:
    """memory (T', D) of one utterance -> its n-best (tokens, normalised score), best first.

    A hypothesis's normalised score is its log-probability (its end symbol's included) divided by
    (tokens + 1) ** length_penalty; 0 compares raw log-probabilities. The search ends when
    `beam_size` hypotheses have ended, no prefix is left or `max_len` tokens are reached.
    """
    beams: list[tuple[list[int], float]] = [([], 0.0)]
    ended: list[tuple[list[int], float]] = []
    for _ in range(max_len):
        prefixes = torch.tensor([[sos_eos, *tokens] for tokens, _ in beams], device=memory.device)
        expanded = memory.expand(len(beams), *memory.shape)
        padding = torch.zeros(expanded.shape[:2], dtype=torch.bool, device=memory.device)
        log_probs = step(prefixes, expanded, padding)
        totals = torch.tensor([score for _, score in beams], device=memory.device)
        totals = (totals.unsqueeze(1) + log_probs).flatten()
        top = totals.topk(min(beam_size, totals.numel()))
        vocab = log_probs.size(1)
        grown = []
        for score, index in zip(top.values.tolist(), top.indices.tolist(), strict=True):
            tokens, token = beams[index // vocab][0], index % vocab
            if token == sos_eos:
                ended.append((tokens, score))
            else:
                grown.append(([*tokens, token], score))
        beams = grown
        if not beams or len(ended) >= beam_size:
            break
    hypotheses = ended + beams
    scored = [(tokens, score / (len(tokens) + 1) ** length_penalty) for tokens, score in hypotheses]
    return sorted(scored, key=lambda hypothesis: hypothesis[1], reverse=True)
