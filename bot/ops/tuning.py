"""Fit the abstention model (retrieve.CONFIDENCE_WEIGHTS) on scored gold questions: the page's and
those about added documents, so its signals mean the same on any document."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from bot.ops.evaluate import Outcome
from bot.pipeline.retrieve import CONFIDENCE_WEIGHTS, Signals

FEATURES = tuple(CONFIDENCE_WEIGHTS)


@dataclass(frozen=True)
class Fit:
    """Weights and bias of the logistic model, and how it does at the chosen threshold."""

    weights: dict[str, float]
    bias: float
    threshold: float
    answered: float
    refused: float

    def confidence(self, values: np.ndarray) -> np.ndarray:
        """Probability per row of signal values (columns in FEATURES order)."""
        z = values @ np.array([self.weights[f] for f in FEATURES]) + self.bias
        result: np.ndarray = 1.0 / (1.0 + np.exp(-np.clip(z, -50, 50)))
        return result


def _matrix(outcomes: list[Outcome], reading: int | None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rows = [o for o in outcomes if o.readings]

    def pick(o: Outcome) -> tuple[Signals, ...]:
        return o.readings[:1] if reading == 0 else o.readings

    x = [[float(getattr(s, f)) for f in FEATURES] for o in rows for s in pick(o)]
    owner = [i for i, o in enumerate(rows) for _ in pick(o)]
    labels = np.array([bool(o.gold.expected) for o in rows])
    return np.array(x, dtype=float), np.array(owner), labels


def decided(fit: Fit, outcomes: list[Outcome]) -> tuple[np.ndarray, np.ndarray]:
    """Per question, the confidence of its most confident reading, and whether it is answerable."""
    x, owner, labels = _matrix(outcomes, None)
    confidence = np.full(len(labels), -1.0)
    np.maximum.at(confidence, owner, fit.confidence(x))
    return confidence, labels


def _share(hit: np.ndarray, among: np.ndarray, added: np.ndarray) -> float:
    """The share of hits among some questions, the page's and the added documents' weighing the same."""
    shares = [float(hit[among & group].mean()) for group in (added, ~added) if (among & group).any()]
    return sum(shares) / len(shares) if shares else 0.0


def fit_abstention(outcomes: list[Outcome], *, c: float = 0.1, refused_goal: float = 0.87) -> Fit:
    """Logistic regression on the whole message's signals; the threshold answers the most
    answerable questions while refusing refused_goal. The page's questions and those about added
    documents weigh the same in both, so neither corpus decides alone."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler

    x, _, labels = _matrix(outcomes, 0)
    added = np.array([o.added for o in outcomes if o.readings])
    # Questions about the page and about added documents weigh the same, each class within each.
    weight = np.ones(len(labels))
    for group in (added, ~added):
        for cls in (labels, ~labels):
            chosen = group & cls
            weight[chosen] = len(labels) / (4 * max(int(chosen.sum()), 1))
    scaler = StandardScaler().fit(x)
    model = LogisticRegression(C=c, max_iter=2000).fit(scaler.transform(x), labels, sample_weight=weight)
    scale = np.where(scaler.scale_ > 0, scaler.scale_, 1.0)
    weights = model.coef_[0] / scale
    bias = float(model.intercept_[0] - (model.coef_[0] * scaler.mean_ / scale).sum())
    fit = Fit(
        {f: round(float(w), 3) for f, w in zip(FEATURES, weights, strict=True)}, round(bias, 3), 0.5, 0, 0
    )
    confidence, answerable = decided(fit, outcomes)
    best = (0.5, 0.0, 0.0)
    for threshold in np.round(np.arange(0.05, 0.96, 0.01), 2):
        answered = _share(confidence >= threshold, answerable, added)
        refused = _share(confidence < threshold, ~answerable, added)
        # Prefer meeting the refusal goal; among those, answer most; else the best balance.
        key = (refused >= refused_goal, answered if refused >= refused_goal else answered + refused)
        if key > (best[2] >= refused_goal, best[1] if best[2] >= refused_goal else best[1] + best[2]):
            best = (float(threshold), answered, refused)
    return Fit(fit.weights, fit.bias, best[0], round(best[1], 3), round(best[2], 3))


def format_fit(fit: Fit) -> str:
    """The fit as the lines to paste into retrieve.py and config.py."""
    weights = ", ".join(f'"{k}": {v}' for k, v in fit.weights.items())
    return "\n".join(
        [
            f"CONFIDENCE_WEIGHTS = {{{weights}}}",
            f"CONFIDENCE_BIAS = {fit.bias}",
            f"min_confidence = {fit.threshold}  (answered {fit.answered:.3f}, refused {fit.refused:.3f})",
            f"odds per unit: {', '.join(f'{k} ×{math.exp(v):.2g}' for k, v in fit.weights.items())}",
        ]
    )
