"""The attack suite of issue 11: one client must not take the server from the others.

``python -m tests.hardening.attack`` (``make attack``) runs every row in its
full form and prints the figures; ``test_attack.py`` runs the quick form
under pytest. See ``runner.py`` for what is measured and asserted.
"""
