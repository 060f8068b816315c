from typing import Any, Dict, Generic, Optional, TypeVar

UP = TypeVar("UP")
ID = TypeVar("ID")


class UserDbInterface(Generic[UP, ID]):
    """Base adapter for retrieving, creating and updating users from a database."""

    async def get(self, id: ID) -> Optional[UP]:
        raise NotImplementedError()

    async def get_by_email(self, email: str) -> Optional[UP]:
        raise NotImplementedError()

    async def create(self, create_dict: Dict[str, Any]) -> UP:
        raise NotImplementedError()

    async def update(self, user: UP, update_dict: Dict[str, Any]) -> UP:
        raise NotImplementedError()

    async def delete(self, user: UP) -> None:
        raise NotImplementedError()
