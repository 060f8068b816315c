"""Corpus service kinds (an interface package for stubgen tests)."""
