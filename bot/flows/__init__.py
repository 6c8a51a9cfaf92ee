"""Feature flows. Each module exposes `register(registry)`; none imports a platform SDK."""
