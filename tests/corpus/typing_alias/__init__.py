"""Corpus service typing_alias (an interface package for stubgen tests)."""
