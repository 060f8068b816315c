"""Corpus service asyncsvc (an interface package for stubgen tests)."""
