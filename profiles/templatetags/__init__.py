"""Template tags of the CDP pages."""
