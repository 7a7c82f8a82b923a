"""The layers, one family per file; baregrad.nn re-exports them."""
