"""Types the interface imports relatively."""

from dataclasses import dataclass


@dataclass
class Item:
    name: str
    price: float
