from metaabc.metaabc_interface import MetaabcInterface


class Metaabc(MetaabcInterface):
    def greet(self, name: str = "world") -> str:
        return f"hello {name}"
