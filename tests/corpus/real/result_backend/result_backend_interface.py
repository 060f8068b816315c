from abc import ABC, abstractmethod
from typing import Generic, TypeVar

from result_backend.result import TaskiqResult

ReturnType = TypeVar("ReturnType")


class ResultBackendInterface(ABC, Generic[ReturnType]):
    """Stores the results of tasks."""

    async def startup(self) -> None:
        """Connect."""

    async def shutdown(self) -> None:
        """Disconnect."""

    @abstractmethod
    async def set_result(self, task_id: str, result: TaskiqResult[ReturnType]) -> None:
        """Store a task's result."""

    @abstractmethod
    async def is_result_ready(self, task_id: str) -> bool:
        """Whether the task has a result."""

    @abstractmethod
    async def get_result(self, task_id: str, with_logs: bool = False) -> TaskiqResult[ReturnType]:
        """The task's result."""
