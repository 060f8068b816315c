"""Corpus service shapes (an interface package for stubgen tests)."""
