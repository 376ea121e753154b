"""popcase: a case manager for problem-oriented policing (SARA)."""

__version__ = "0.1.0"
