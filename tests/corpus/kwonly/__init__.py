"""Corpus service kwonly (an interface package for stubgen tests)."""
