"""The search pipeline: documents in, answers out (corpus, chunking, German analysis, lexical and
dense index, retrieval, abstention, answers). Knows nothing of the chat, the CLI or operations."""
