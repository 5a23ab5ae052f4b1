"""Domain errors: raised in the library, turned into one German sentence at the edge (CLI, UI)."""


class BotError(Exception):
    """Base class; its message is a plain German sentence that names the next step."""


class IndexMissingError(BotError):
    """No built index where the settings point."""


class IndexMismatchError(BotError):
    """The index was built with another model or other passage settings, or is damaged."""


class CorpusError(BotError):
    """A corpus document cannot be read or is invalid; printed as `file:line: Meldung`."""

    def __init__(self, message: str, file: str = "", line: int | None = None) -> None:
        self.file, self.line, self.detail = file, line, message
        where = f"{file}:{line}: " if file and line else (f"{file}: " if file else "")
        super().__init__(where + message)


class QuestionError(BotError):
    """The question cannot be answered as given (empty, blank, unreadable)."""
