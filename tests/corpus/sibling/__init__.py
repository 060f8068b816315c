"""Corpus service sibling (an interface package for stubgen tests)."""
