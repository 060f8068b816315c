"""Corpus service docs (an interface package for stubgen tests)."""
