"""Corpus service timeline (an interface package for stubgen tests)."""
