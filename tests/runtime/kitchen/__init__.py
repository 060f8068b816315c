"""The kitchen service: one procedure per SPEC section 4 type, every parameter kind, errors."""
