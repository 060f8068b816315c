"""Corpus service aliased (an interface package for stubgen tests)."""
