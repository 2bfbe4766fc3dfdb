"""warroom: a terminal war-room console for incident recovery."""

__version__ = "0.1.0"
