from abc import ABC, abstractmethod


class EmbeddingsInterface(ABC):
    """Turns text into vectors."""

    @abstractmethod
    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        """One vector per document."""

    @abstractmethod
    def embed_query(self, text: str) -> list[float]:
        """The vector of a query."""

    async def aembed_documents(self, texts: list[str]) -> list[list[float]]:
        return self.embed_documents(texts)

    async def aembed_query(self, text: str) -> list[float]:
        return self.embed_query(text)
