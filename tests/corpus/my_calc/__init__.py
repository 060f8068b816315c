"""Corpus service my_calc (an interface package for stubgen tests)."""
