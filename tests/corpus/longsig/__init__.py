"""Corpus service longsig (an interface package for stubgen tests)."""
