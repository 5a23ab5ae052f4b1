"""Decision files for tests: the shipped models with other bands, so that a test of quoting,
indexing or the language model is not at the mercy of where the fitted bands lie."""

from __future__ import annotations

import json
from pathlib import Path

from bot.pipeline.assistant import Assistant
from bot.pipeline.calibration import PACKAGED

# Bands under which every question the texts touch is answered at once (none is asked back).
ALWAYS_ANSWER = {"answer_in_scope": 0.0, "answer_right": 0.0}


def decision_file(folder: Path, **bands: float) -> Path:
    """A decision file in folder: the packaged models, these bands."""
    data = json.loads(PACKAGED.read_text(encoding="utf-8"))
    data["bands"] = {**data["bands"], **bands}
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"decision-{len(list(folder.glob('decision-*.json')))}.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def deciding(assistant: Assistant, folder: Path, **bands: float) -> Assistant:
    """The same assistant and index, deciding with other bands."""
    settings = assistant.settings.model_copy(update={"decision_file": decision_file(folder, **bands)})
    return Assistant(settings, assistant.index)
