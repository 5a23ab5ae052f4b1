"""Fit the decision (bot/pipeline/calibration.py) on scored tuning questions: the in-scope model,
the model of a right first hit, and the bands for answer, ask back and refuse. Questions about
the page and about added documents weigh the same everywhere, so neither corpus decides alone."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from bot.ops.evaluate import Outcome
from bot.pipeline.calibration import Bands, Calibration, Logistic
from bot.pipeline.retrieve import Signals

IN_SCOPE_FEATURES = (
    "text", "sentence", "questions", "lift", "top", "margin", "coverage", "best_coverage",
    "unknown", "english", "fact", "policy",
)  # fmt: skip
# Which rule? Scores and margins of the first hit, and whether the question is in scope at all.
RIGHT_FEATURES = ("top", "margin", "section_margin", "coverage", "outline", "confidence")
# The sure band is fitted for precision: of the questions answered at once (out-of-scope ones
# count as wrong), at least this share right, on the page's and the added documents' alike.
PRECISION_GOAL = 0.95
OUTSIDE_ANSWERED_GOAL = 0.05  # out-of-scope questions answered at once, at most
OUTSIDE_ASKED_GOAL = 0.30  # out-of-scope questions asked back, at most
FOLDS = 5


@dataclass(frozen=True)
class Rows:
    """The scored questions the decision is fitted on, as arrays (small talk left out)."""

    outcomes: list[Outcome]
    signals: list[Signals]  # each outcome's deciding reading
    answerable: np.ndarray
    added: np.ndarray
    first_right: np.ndarray  # the first hit answers it
    offered_right: np.ndarray  # a candidate it would offer when asking back answers it

    @classmethod
    def of(cls, outcomes: Sequence[Outcome]) -> Rows:
        """The outcomes that were searched."""
        kept = [o for o in outcomes if o.signals is not None]
        return cls(
            kept,
            [o.signals for o in kept if o.signals is not None],
            np.array([bool(o.gold.expected) for o in kept]),
            np.array([o.added for o in kept]),
            np.array([bool(o.gold.expected) and o.rank == 1 for o in kept]),
            np.array([bool(o.gold.expected) and o.offered_right for o in kept]),
        )

    def weights(self, labels: np.ndarray) -> np.ndarray:
        """Sample weights: page and added documents alike, each class within each alike."""
        weight = np.ones(len(labels))
        for group in (self.added, ~self.added):
            for cls in (labels, ~labels):
                chosen = group & cls
                weight[chosen] = len(labels) / (4 * max(int(chosen.sum()), 1))
        return weight


def _values(signals: Signals, confidence: float, features: Sequence[str]) -> list[float]:
    values = {**signals.values(), "confidence": confidence}
    return [values[f] for f in features]


def _logistic(
    x: np.ndarray, labels: np.ndarray, weight: np.ndarray, features: Sequence[str], c: float
) -> Logistic:
    """Logistic regression on standardised features, written back as weights on the raw ones."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler

    scaler = StandardScaler().fit(x)
    model = LogisticRegression(C=c, max_iter=2000).fit(scaler.transform(x), labels, sample_weight=weight)
    scale = np.where(scaler.scale_ > 0, scaler.scale_, 1.0)
    weights = model.coef_[0] / scale
    bias = float(model.intercept_[0] - (model.coef_[0] * scaler.mean_ / scale).sum())
    return Logistic({f: round(float(w), 4) for f, w in zip(features, weights, strict=True)}, round(bias, 4))


def _probabilities(model: Logistic, x: np.ndarray, features: Sequence[str]) -> np.ndarray:
    return np.array([model.probability(dict(zip(features, row, strict=True))) for row in x])


def fit_in_scope(outcomes: Sequence[Outcome], c: float = 0.1) -> Logistic:
    """Do the texts answer the question at all? Fitted on the whole message's reading."""
    rows = [o for o in outcomes if o.readings]
    x = np.array([[float(getattr(o.readings[0], f)) for f in IN_SCOPE_FEATURES] for o in rows])
    labels = np.array([bool(o.gold.expected) for o in rows])
    weight = Rows(rows, [], labels, np.array([o.added for o in rows]), labels, labels).weights(labels)
    return _logistic(x, labels, weight, IN_SCOPE_FEATURES, c)


def fit_right(rows: Rows, confidence: np.ndarray, c: float = 0.3) -> tuple[Logistic, np.ndarray]:
    """Is the first hit the passage asked about? The model on all rows, and each row's probability
    from a model fitted without its fold (what the bands are chosen on: as on unseen questions)."""
    x = np.array([_values(s, conf, RIGHT_FEATURES) for s, conf in zip(rows.signals, confidence, strict=True)])
    labels = rows.first_right
    weight = rows.weights(labels)
    held_out = np.zeros(len(labels))
    folds = np.arange(len(labels)) % FOLDS
    order = np.argsort(labels * 2 + rows.added, kind="stable")  # each fold mixes classes and corpora
    fold_of = np.empty(len(labels), dtype=int)
    fold_of[order] = folds
    for fold in range(FOLDS):
        test = fold_of == fold
        model = _logistic(x[~test], labels[~test], weight[~test], RIGHT_FEATURES, c)
        held_out[test] = _probabilities(model, x[test], RIGHT_FEATURES)
    return _logistic(x, labels, weight, RIGHT_FEATURES, c), held_out


@dataclass(frozen=True)
class Figures:
    """How a set of bands does on the tuning rows, the page and the added documents averaged."""

    precision: float
    right_at_once: float
    wrong_at_once: float
    asked_back: float
    resolved: float
    outside_answered: float
    outside_asked_back: float

    def feasible(self) -> bool:
        """Whether the goals the bands are fitted under hold."""
        return (
            self.precision >= PRECISION_GOAL
            and self.outside_answered <= OUTSIDE_ANSWERED_GOAL
            and self.outside_asked_back <= OUTSIDE_ASKED_GOAL
        )

    def rounded(self) -> dict[str, float]:
        """The figures for the decision file."""
        return {k: round(v, 3) for k, v in vars(self).items()}


def figures(rows: Rows, confidence: np.ndarray, right: np.ndarray, bands: Bands) -> Figures:
    """The outcomes these bands give, page and added documents weighing the same."""
    answer = (confidence >= bands.answer_in_scope) & (right >= bands.answer_right)
    ask = ~answer & (confidence >= bands.choice_in_scope)
    groups = [g for g in (~rows.added, rows.added) if g.any()]

    def mean(hit: np.ndarray, among: np.ndarray) -> float:
        shares = [float(hit[among & g].sum() / max(int((among & g).sum()), 1)) for g in groups]
        return sum(shares) / len(shares)

    a, o = rows.answerable, ~rows.answerable
    right_now = answer & rows.first_right
    return Figures(
        precision=mean(right_now, answer) if answer.any() else 1.0,
        right_at_once=mean(right_now, a),
        wrong_at_once=mean(answer & ~rows.first_right, a),
        asked_back=mean(ask, a),
        resolved=mean(right_now | (ask & rows.offered_right), a),
        outside_answered=mean(answer, o),
        outside_asked_back=mean(ask, o),
    )


def fit_bands(rows: Rows, confidence: np.ndarray, right: np.ndarray) -> tuple[Bands, Figures]:
    """The bands that resolve most questions within one click and answer most of them at once
    (equal weight), under the precision and out-of-scope goals; the safest bands if none meet them."""
    best: tuple[tuple[bool, float], Bands, Figures] | None = None
    for answer_in_scope in np.round(np.arange(0.0, 0.96, 0.05), 2):
        for answer_right in np.round(np.arange(0.3, 1.0, 0.01), 2):
            for choice_in_scope in np.round(np.arange(0.05, 0.91, 0.01), 2):
                bands = Bands(float(answer_in_scope), float(answer_right), float(choice_in_scope))
                found = figures(rows, confidence, right, bands)
                key = (found.feasible(), found.resolved + found.right_at_once)
                if best is None or key > best[0]:
                    best = (key, bands, found)
    assert best is not None
    return best[1], best[2]


def fit_calibration(outcomes: Sequence[Outcome], fitted_on: Sequence[str]) -> Calibration:
    """Both models and the bands, fitted on the tuning outcomes."""
    in_scope = fit_in_scope(outcomes)
    rows = Rows.of(outcomes)
    confidence = np.array([in_scope.probability(s.values()) for s in rows.signals])
    right, held_out = fit_right(rows, confidence)
    bands, found = fit_bands(rows, confidence, held_out)
    return Calibration(in_scope, right, bands, tuple(fitted_on), found.rounded())


def format_calibration(calibration: Calibration) -> str:
    """The fit as the tune command prints it."""
    lines = [
        "Im Rahmen (in_scope): "
        + ", ".join(f"{k} {v:+.3f}" for k, v in calibration.in_scope.weights.items()),
        f"  Achsenabschnitt {calibration.in_scope.bias:+.3f}",
        "Erste Stelle richtig (right): "
        + ", ".join(f"{k} {v:+.3f}" for k, v in calibration.right.weights.items()),
        f"  Achsenabschnitt {calibration.right.bias:+.3f}",
        f"Bänder: {vars(calibration.bands)}",
        f"Auf den Tuning-Sets (Seite und Hinzugefügtes gemittelt): {dict(calibration.figures or {})}",
    ]
    return "\n".join(lines)
