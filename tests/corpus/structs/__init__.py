"""Corpus service structs (an interface package for stubgen tests)."""
