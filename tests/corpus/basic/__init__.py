"""Corpus service basic (an interface package for stubgen tests)."""
