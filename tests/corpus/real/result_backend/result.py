from typing import Generic, Optional, TypeVar

from pydantic import BaseModel

T = TypeVar("T")


class TaskiqResult(BaseModel, Generic[T]):
    is_err: bool
    log: Optional[str] = None
    return_value: T
    execution_time: float
