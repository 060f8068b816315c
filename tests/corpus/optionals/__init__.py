"""Corpus service optionals (an interface package for stubgen tests)."""
