"""Corpus service records (an interface package for stubgen tests)."""
