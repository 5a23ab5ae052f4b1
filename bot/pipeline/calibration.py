"""The fitted decision, read from a JSON file: two logistic models over retrieval signals (do the
texts answer the question at all? is the first hit the right passage?) and the bands that turn
their probabilities into answer, ask back or refuse. `python -m bot tune --schreiben` fits and
writes it on the tuning sets; a deployment with another model points BOT_DECISION_FILE at its own."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from bot.errors import BotError

PACKAGED = Path(__file__).with_name("decision.json")


@dataclass(frozen=True)
class Logistic:
    """Weights per named signal and a bias: p = 1 / (1 + e^-(bias + Σ w·x))."""

    weights: dict[str, float]
    bias: float

    def probability(self, values: Mapping[str, float]) -> float:
        """The probability for these signal values (missing names count as 0)."""
        z = self.bias + sum(w * float(values.get(name, 0.0)) for name, w in self.weights.items())
        return round(1.0 / (1.0 + math.exp(-max(-50.0, min(50.0, z)))), 4)

    def to_json(self) -> dict[str, object]:
        """As the decision file stores it."""
        return {"weights": self.weights, "bias": self.bias}


@dataclass(frozen=True)
class Bands:
    """Where the probabilities decide: answer at once when both models are sure enough, ask back
    with candidates when the question is in scope but the rule is unsure, else refuse."""

    answer_in_scope: float  # in-scope probability needed to answer at once
    answer_right: float  # probability that the first hit is right, needed to answer at once
    choice_in_scope: float  # in-scope probability needed to ask back (below it: refuse)


@dataclass(frozen=True)
class Calibration:
    """The two models and the bands, and what they were fitted on."""

    in_scope: Logistic
    right: Logistic
    bands: Bands
    fitted_on: tuple[str, ...] = ()
    figures: Mapping[str, object] | None = None  # the tuning figures at these bands, for the record

    def to_json(self) -> dict[str, object]:
        """The decision file's content."""
        return {
            "in_scope": self.in_scope.to_json(),
            "right": self.right.to_json(),
            "bands": vars(self.bands),
            "fitted_on": list(self.fitted_on),
            "figures": dict(self.figures or {}),
        }

    def write(self, path: Path) -> None:
        """Replace the decision file atomically."""
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(self.to_json(), ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
        tmp.replace(path)


def _logistic(data: object) -> Logistic:
    if not isinstance(data, dict):
        raise TypeError("model")
    weights = {str(k): float(v) for k, v in dict(data["weights"]).items()}
    return Logistic(weights, float(data["bias"]))


def parse(data: object) -> Calibration:
    """A calibration from the decision file's JSON; TypeError/KeyError/ValueError if malformed."""
    if not isinstance(data, dict):
        raise TypeError("decision file")
    bands = data["bands"]
    return Calibration(
        in_scope=_logistic(data["in_scope"]),
        right=_logistic(data["right"]),
        bands=Bands(
            answer_in_scope=float(bands["answer_in_scope"]),
            answer_right=float(bands["answer_right"]),
            choice_in_scope=float(bands["choice_in_scope"]),
        ),
        fitted_on=tuple(str(s) for s in data.get("fitted_on", ())),
        figures=dict(data.get("figures") or {}),
    )


@cache
def load_calibration(path: Path | None = None) -> Calibration:
    """The decision file (the packaged one by default), read once per process; a missing or
    broken file is one German sentence."""
    path = path or PACKAGED
    try:
        return parse(json.loads(path.read_text(encoding="utf-8")))
    except OSError as exc:
        raise BotError(f"Die Entscheidungsdatei {path} ist nicht lesbar (BOT_DECISION_FILE).") from exc
    except (ValueError, KeyError, TypeError) as exc:
        raise BotError(
            f"Die Entscheidungsdatei {path} ist beschädigt. Bitte `python -m bot tune --schreiben` ausführen "
            "oder BOT_DECISION_FILE leeren."
        ) from exc
