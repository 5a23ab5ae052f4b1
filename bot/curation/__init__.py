"""The Referat's care of the corpus: example questions drafted as proposals and accepted after
review, and the self-check of how well each section's questions find it. Uses the pipeline; the
chat's Referat view uses it."""
