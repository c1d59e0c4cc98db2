"""pricing package."""
