"""foreland: the project-wide command line and shared plumbing."""
__version__ = "0.1.0"
