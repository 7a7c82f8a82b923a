"""Renderers: pure functions from a LinearProgram to source text, one module per language family."""
