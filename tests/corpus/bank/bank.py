from bank.bank_interface import BankInterface, InsufficientFunds, UnknownAccount


class Bank(BankInterface):
    def __init__(self) -> None:
        self.accounts = {"alice": 100, "bob": 0}

    def balance(self, account: str) -> int:
        if account not in self.accounts:
            raise UnknownAccount(account)
        return self.accounts[account]

    def transfer(self, source: str, target: str, amount: int) -> int:
        available = self.balance(source)
        self.balance(target)
        if amount > available:
            raise InsufficientFunds(amount, available)
        self.accounts[source] -= amount
        self.accounts[target] += amount
        return self.accounts[source]
