"""The attack suite's service, laid out as a user's server folder (SPEC section 2)."""
