"""A service whose implementation returns wrongly typed results on request (test_results.py)."""
