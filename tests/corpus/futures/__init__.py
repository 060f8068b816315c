"""Corpus service futures (an interface package for stubgen tests)."""
