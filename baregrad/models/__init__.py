"""Model definitions and everything around them: tokenizers, sampling, generation, the model registry."""
