"""The hardening tests service, laid out as a user's server folder (SPEC section 2)."""
