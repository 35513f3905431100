"""Runaway feedback loops: what happens when a hotspot model learns only from patrolled crime.

Simulation after Ensign, Friedler, Neville, Scheidegger & Venkatasubramanian (2018), "Runaway
feedback loops in predictive policing", FAT* / PMLR 81:160-171. ``K`` areas have true daily
crime rates ``lambda``. Each day:

1. the model's estimate of each area's share of crime is its recorded count (plus a prior)
   over the total;
2. patrols go where the model says: ``"proportional"`` draws ``patrols`` areas with
   probability equal to the estimated shares (Ensign's Pólya urn), ``"top"`` sends them to the
   ``patrols`` areas ranked highest (ties: lowest index);
3. crime happens everywhere, ``Poisson(lambda)`` per area; a patrolled area's crime is all
   discovered, elsewhere each crime is reported by the public with probability
   ``reported_share``;
4. the model is updated with what it is given:

   - ``"none"``: everything recorded (discovered + reported): the loop. An area patrolled more
     records more and is patrolled more; the estimate runs away from the true shares.
   - ``"ipw"``: Ensign et al.'s correction: a discovered incident is weighted by the inverse
     of the probability that its area was patrolled (Horvitz-Thompson), so the expected
     update of every area is its true rate. Needs the ``"proportional"`` policy.
   - ``"reported"``: only crime reported by the public feeds the model, independent of
     where patrols were; discoveries are recorded but not used to forecast.

**Drift** is the total-variation distance ``0.5 * sum|share - true share|`` between the model's
estimated shares, averaged over the last tenth of the days, and the true shares ``lambda /
sum(lambda)``: 0 when the model has learnt the truth, up to ``1 - min share``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = ["FeedbackResult", "simulate_feedback"]

_POLICIES = ("proportional", "top")
_CORRECTIONS = ("none", "ipw", "reported")


@dataclass(frozen=True)
class FeedbackResult:
    """Trajectory of one simulation."""

    true_share: NDArray[np.float64]
    """(K,) true crime share per area."""
    estimate: NDArray[np.float64]
    """(days, K) the model's estimated share per area at the start of each day."""
    allocation: NDArray[np.float64]
    """(days, K) share of that day's patrols sent to each area."""
    drift: float
    """Total-variation distance of the late estimate from the true shares."""
    allocation_drift: float
    """The same for the patrol allocation averaged over the last tenth of the days."""


def _tv(a: NDArray[np.float64], b: NDArray[np.float64]) -> float:
    return 0.5 * float(np.abs(a - b).sum())


def simulate_feedback(
    true_rates: ArrayLike,
    *,
    days: int = 2000,
    patrols: int = 1,
    policy: str = "proportional",
    correction: str = "none",
    reported_share: float = 0.0,
    prior: float = 1.0,
    explore: float = 0.0,
    seed: int = 0,
) -> FeedbackResult:
    """Simulate patrol allocation driven by a model that learns from recorded crime.

    Parameters
    ----------
    true_rates : (K,) true crime rate per area [incidents/day]
    days : days simulated
    patrols : areas patrolled per day
    policy : ``"proportional"`` or ``"top"``
    correction : ``"none"``, ``"ipw"`` or ``"reported"``
    reported_share : probability that a crime where no patrol is gets reported anyway
    prior : pseudo-count each area starts with [incidents]
    explore : share of patrol probability spread evenly over all areas (``"proportional"``
        only); keeps every area's patrol probability >= ``explore / K``, which bounds the
        inverse-probability weights of ``"ipw"``

    Examples
    --------
    >>> r = simulate_feedback([2.0, 1.0], days=3000, seed=1)
    >>> r.drift > 0.2
    True
    >>> round(simulate_feedback([2.0, 1.0], days=3000, correction="ipw", seed=1).drift, 1)
    0.0
    """
    lam = np.asarray(true_rates, dtype=np.float64).ravel()
    k = len(lam)
    if k < 2 or (lam <= 0).any():
        raise ValueError(f"true_rates must be >= 2 positive rates, got {lam.tolist()}")
    if policy not in _POLICIES:
        raise ValueError(f"policy must be one of {_POLICIES}, got {policy!r}")
    if correction not in _CORRECTIONS:
        raise ValueError(f"correction must be one of {_CORRECTIONS}, got {correction!r}")
    if correction == "ipw" and policy != "proportional":
        raise ValueError("the 'ipw' correction needs the 'proportional' policy (a top-k patrol "
                         "visits an area with probability 0 or 1: nothing to weight)")  # fmt: skip
    if not 1 <= patrols < k:
        raise ValueError(f"patrols must be between 1 and K - 1 = {k - 1}, got {patrols}")
    if not 0.0 <= explore <= 1.0:
        raise ValueError(f"explore must be in [0, 1], got {explore}")
    if not 0.0 <= reported_share <= 1.0:
        raise ValueError(f"reported_share must be in [0, 1], got {reported_share}")
    rng = np.random.default_rng(seed)
    counts = np.full(k, float(prior))
    estimate = np.empty((days, k))
    allocation = np.empty((days, k))
    for d in range(days):
        share = counts / counts.sum()
        estimate[d] = share
        if policy == "proportional":
            p_send = (1.0 - explore) * share + explore / k
            sent = rng.multinomial(patrols, p_send).astype(np.float64)
            p_visit = 1.0 - (1.0 - p_send) ** patrols
        else:
            sent = np.zeros(k)
            sent[np.argsort(-share, kind="stable")[:patrols]] = 1.0
            p_visit = sent.copy()
        allocation[d] = sent / patrols
        visited = sent > 0
        crime = rng.poisson(lam)
        reported = rng.binomial(crime, reported_share)
        discovered = np.where(visited, crime, 0)
        if correction == "none":
            counts += np.where(visited, discovered, reported)
        elif correction == "ipw":
            counts += np.where(visited, discovered / np.maximum(p_visit, 1e-12), 0.0)
        else:
            counts += reported
    truth = lam / lam.sum()
    tail = max(1, days // 10)
    return FeedbackResult(
        true_share=truth,
        estimate=estimate,
        allocation=allocation,
        drift=_tv(estimate[-tail:].mean(axis=0), truth),
        allocation_drift=_tv(allocation[-tail:].mean(axis=0), truth),
    )
