"""Corpus service metaabc (an interface package for stubgen tests)."""
