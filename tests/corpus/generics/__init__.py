"""Corpus service generics (an interface package for stubgen tests)."""
