"""voxline: the agent worker between callers and models."""

__version__ = "0.1.0"
