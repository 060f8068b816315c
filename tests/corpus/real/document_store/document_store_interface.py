from typing import Any, Dict, List, Optional, Protocol

from document_store.types import DuplicatePolicy, Document


class DocumentStoreInterface(Protocol):
    """Stores documents for retrieval."""

    def to_dict(self) -> Dict[str, Any]:
        """Serializes this store to a dictionary."""
        ...

    @classmethod
    def from_dict(cls, data: Dict[str, Any]) -> "DocumentStoreInterface":
        """Deserializes the store from a dictionary."""
        ...

    def count_documents(self) -> int:
        """Returns how many documents are present in the document store."""
        ...

    def filter_documents(self, filters: Optional[Dict[str, Any]] = None) -> List[Document]:
        """Returns the documents that match the filters provided."""
        ...

    def write_documents(self, documents: List[Document], policy: DuplicatePolicy = DuplicatePolicy.NONE) -> int:
        """Writes documents into the store."""
        ...

    def delete_documents(self, document_ids: List[str]) -> None:
        """Deletes all documents with a matching document_ids from the document store."""
        ...
