"""The chat's entry point for `chainlit run bot/app.py`: the handlers live in bot.chat.app."""

from bot.chat import app  # noqa: F401  (importing it registers the Chainlit handlers)
