"""A bank with its own exceptions."""

from abc import ABC, abstractmethod


class BankError(Exception):
    """Base of the bank's errors."""


class InsufficientFunds(BankError):
    def __init__(self, needed: int, available: int) -> None:
        super().__init__(needed, available)
        self.needed = needed
        self.available = available


class UnknownAccount(KeyError):
    pass


class BankInterface(ABC):
    """Accounts and transfers.

    Raises InsufficientFunds and UnknownAccount.
    """

    @abstractmethod
    def balance(self, account: str) -> int:
        """The balance of ``account``.

        Raises UnknownAccount if there is no such account.
        """

    @abstractmethod
    def transfer(self, source: str, target: str, amount: int) -> int: ...
