"""Alignments of one transcript through a transducer's lattice: the best one, and how likely
each node is.

Node (t, u) is frame t after u tokens. From it a blank moves to (t+1, u) with log-prob
blank[t, u], the next token to (t, u+1) with log-prob emit[t, u]; an alignment starts at (0, 0)
and leaves the lattice by the blank of (T-1, U). Row t is swept in one step: a node of it is
entered from row t-1 at some u' <= u, then climbs by tokens, so its score is
climb[u] + reduce over u' <= u of (entering[u'] - climb[u']), climb the cumulative emit[t].
"""

import torch
import torch.nn.functional as F
from torch import Tensor


def _sweep(blank: Tensor, emit: Tensor, best: bool) -> tuple[list[Tensor], list[Tensor]]:
    """blank (T, U+1), emit (T, U) -> per row t, the score (U+1,) of reaching each node: the
    best alignment's (with `best`) or the log-sum over all; with `best`, also per row the u'
    at which the best path to each node entered the row."""
    entering = torch.full_like(blank[0], float("-inf"))
    entering[0] = 0.0
    scores, entries = [], []
    for t in range(len(blank)):
        climb = F.pad(emit[t].cumsum(0), (1, 0))
        if best:
            reduced, entry = torch.cummax(entering - climb, 0)
            entries.append(entry)
        else:
            reduced = torch.logcumsumexp(entering - climb, 0)
        scores.append(climb + reduced)
        entering = scores[-1] + blank[t]
    return scores, entries


def best_path(blank: Tensor, emit: Tensor) -> Tensor:
    """blank (T, U+1), emit (T, U) log-probs -> the nodes (T+U, 2) of the best alignment, as
    (t, u) from (0, 0) to (T-1, U)."""
    _, entries = _sweep(blank.detach().double(), emit.detach().double(), best=True)
    u = emit.shape[1]
    nodes: list[tuple[int, int]] = []
    for t in reversed(range(len(blank))):
        entry = int(entries[t][u])
        nodes[:0] = [(t, k) for k in range(entry, u + 1)]
        u = entry
    return torch.tensor(nodes)


def occupancy(blank: Tensor, emit: Tensor) -> Tensor:
    """blank (T, U+1), emit (T, U) log-probs -> (T, U+1) the probability that an alignment of
    the transcript passes each node: the derivative of its total log-prob by the log-probs of
    the node's two moves, summed."""
    blank = blank.detach().double().requires_grad_()
    emit = emit.detach().double().requires_grad_()
    with torch.enable_grad():
        scores, _ = _sweep(blank, emit, best=False)
        total = scores[-1][-1] + blank[-1, -1]
        by_blank, by_emit = torch.autograd.grad(total, (blank, emit))
    return by_blank + F.pad(by_emit, (0, 1))
