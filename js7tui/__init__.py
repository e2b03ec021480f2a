"""js7tui: the security administration console for JS7-style job-scheduling estates."""

__version__ = "0.1.0"
