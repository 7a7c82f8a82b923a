"""Neural-network layers, optimizers, initializers, and model-file loading (`baregrad.nn.state`)."""
