"""Operations: benchmarks, load tests, the worker launcher, evaluation and tuning, imports.
Uses the pipeline and the chat; nothing below uses it."""
