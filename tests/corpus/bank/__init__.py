"""Corpus service bank (an interface package for stubgen tests)."""
