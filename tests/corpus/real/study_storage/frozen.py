import enum
from typing import Any, Dict, List


class StudyDirection(enum.IntEnum):
    NOT_SET = 0
    MINIMIZE = 1
    MAXIMIZE = 2


class FrozenStudy:
    """A study's snapshot (attributes set in __init__)."""

    def __init__(self, study_name: str, directions: List[StudyDirection], user_attrs: Dict[str, Any]) -> None:
        self.study_name = study_name
        self._directions = list(directions)
        self.user_attrs = user_attrs


class FrozenTrial:
    """A trial's snapshot (attributes set in __init__)."""

    def __init__(self, number: int, value: float) -> None:
        self.number = number
        self.value = value
