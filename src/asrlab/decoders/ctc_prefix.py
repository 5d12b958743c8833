"""The CTC prefix score of Watanabe et al. (2017), "Hybrid CTC/Attention", Algorithm 2.

For a prefix g of label sequences (blank excluded), the forward variables over frames t are
r_t^n(g) (g emitted within frames 1..t, frame t a token of g's last label) and r_t^b(g) (same,
frame t blank). Appending a token c to g gives h = g + c with

    phi_t = r_t^b(g) + r_t^n(g)                (r_t^b(g) alone when c repeats g's last label)
    r_t^n(h) = (r_{t-1}^n(h) + phi_{t-1}) p_t(c)
    r_t^b(h) = (r_{t-1}^b(h) + r_{t-1}^n(h)) p_t(blank)
    psi(h) = sum_t phi_{t-1} p_t(c)

where psi(h) is the probability that the label sequence starts with h. Appending `<eos>` instead
gives p(g | X) = r_T^n(g) + r_T^b(g), the probability of g as the whole sequence. Everything here
is in log space; row 0 of the forward variables stands before the first frame, where only the
empty prefix has probability (blank, log 1).
"""

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch

NEG_INF = float("-inf")
# Log-probs are floored here so that their running sums stay finite (see `_accumulate`).
LOG_FLOOR = -1e4


def _accumulate(inflow: torch.Tensor, log_p: torch.Tensor) -> torch.Tensor:
    """The recursion r_t = logaddexp(r_{t-1}, inflow_{t-1}) + log_p_t from r_0 = -inf, for
    t = 1..T, without a loop over frames: with A_t = log_p_1 + ... + log_p_t,
    r_t = A_t + log sum_{s<=t} exp(inflow_{s-1} - A_{s-1}). inflow, log_p (T, ...) finite or
    -inf (log_p floored), float64 (the two sums cancel) -> r_1..r_T (T, ...)."""
    total = log_p.cumsum(0)
    before = torch.cat([torch.zeros_like(total[:1]), total[:-1]])
    return total + torch.logcumsumexp(inflow - before, dim=0)


@dataclass(frozen=True)
class CTCPrefixState:
    """One prefix's forward variables: `r` (T+1, 2), log r_t^n and log r_t^b for t = 0..T, its
    prefix score `log_psi` (log 1 for the empty prefix) and its `last` label (-1 when empty)."""

    r: torch.Tensor
    log_psi: float
    last: int


class CTCPrefixScorer:
    """Prefix scores of one utterance's CTC log-probs (T, V); the beam search keeps one
    `CTCPrefixState` per hypothesis and extends it with `extend`."""

    def __init__(self, log_probs: torch.Tensor, eos: int, blank: int = 0) -> None:
        if log_probs.dim() != 2:
            raise ValueError(f"CTC log-probs must be (T, V), not {tuple(log_probs.shape)}")
        self.log_probs = log_probs.detach().double().clamp(min=LOG_FLOOR)
        self.eos = eos
        self.blank = blank

    def initial_state(self) -> CTCPrefixState:
        """The empty prefix: blank on every frame so far."""
        blank = self.log_probs[:, self.blank]
        r = torch.full((len(blank) + 1, 2), NEG_INF, dtype=blank.dtype)
        r[0, 1] = 0.0
        r[1:, 1] = blank.cumsum(0)
        return CTCPrefixState(r, 0.0, -1)

    def extend(
        self, states: Sequence[CTCPrefixState], candidates: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """N prefixes g (their states), candidates (N, C) token ids (`eos` among them or not) ->
        (log psi(g + c) (N, C), the forward variables r of each g + c (T+1, 2, N, C)); for `eos`,
        log p(g | X) and g's own variables."""
        x = self.log_probs
        is_eos = candidates == self.eos
        x_c = x[:, torch.where(is_eos, self.blank, candidates)]  # (T, N, C)
        r_g = torch.stack([s.r for s in states], dim=-1).unsqueeze(-1)  # (T+1, 2, N, 1)
        last = torch.tensor([s.last for s in states]).unsqueeze(-1)  # (N, 1)
        phi = torch.where(
            candidates == last, r_g[:, 1], torch.logaddexp(r_g[:, 0], r_g[:, 1])
        )  # (T+1, N, C)
        r = torch.full((len(x) + 1, 2, *candidates.shape), NEG_INF, dtype=x.dtype)
        r[1:, 0] = _accumulate(phi[:-1], x_c)
        r[1:, 1] = _accumulate(r[:-1, 0], x[:, self.blank, None, None].expand_as(x_c))
        log_psi = torch.logsumexp(phi[:-1] + x_c, dim=0)
        log_psi = torch.where(is_eos, torch.logaddexp(r_g[-1, 0], r_g[-1, 1]), log_psi)
        r = torch.where(is_eos, r_g, r)
        return log_psi, r

    def score(
        self, prefixes: torch.Tensor, states: Sequence[CTCPrefixState], candidates: torch.Tensor
    ) -> tuple[torch.Tensor, Callable[[int, int], CTCPrefixState]]:
        """The joint search's scorer (`joint_search.PrefixScorer`): prefixes (N, L), their
        states, candidates (N, C) -> (log psi(g + c) - log psi(g) (N, C), the state of g + c
        by (hypothesis, candidate) index); the increments of a hypothesis sum to its log psi,
        and to log p(g | X) once it ends with `eos`."""
        log_psi, r = self.extend(states, candidates)
        previous = torch.tensor([s.log_psi for s in states]).unsqueeze(-1)

        def state(n: int, j: int) -> CTCPrefixState:
            return CTCPrefixState(r[:, :, n, j], float(log_psi[n, j]), int(candidates[n, j]))

        return log_psi - previous, state
