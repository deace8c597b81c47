"""The request path's shared interfaces (Exchange, Reply, Stage, Pipeline, Principal); imports
nothing of ours above it, so every layer may depend on it."""
