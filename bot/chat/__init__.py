"""The chat: the Chainlit app, accounts and sign-in, history, feedback and the Referat's views.
Uses the pipeline; the pipeline never uses it."""
