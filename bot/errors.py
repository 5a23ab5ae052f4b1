"""Domain errors: raised in the library, turned into one German sentence at the edge (CLI, UI)."""


class BotError(Exception):
    """Base class; its message is a plain German sentence that names the next step."""


class IndexMissingError(BotError):
    """No built index where the settings point."""


class IndexMismatchError(BotError):
    """The index was built with another model or other passage settings, or is damaged."""


class CorpusError(BotError):
    """A corpus document cannot be read or is invalid."""


class QuestionError(BotError):
    """The question cannot be answered as given (empty, blank, unreadable)."""
