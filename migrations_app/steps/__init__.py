"""Step catalogue: one module per phase, each step registered by key."""
