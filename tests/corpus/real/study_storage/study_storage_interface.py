import abc
from typing import Any, Dict, List, Optional, Sequence

from study_storage.frozen import FrozenStudy, FrozenTrial, StudyDirection


class StudyStorageInterface(abc.ABC):
    """Persists studies and their trials."""

    @abc.abstractmethod
    def create_new_study(self, directions: Sequence[StudyDirection], study_name: Optional[str] = None) -> int:
        raise NotImplementedError

    @abc.abstractmethod
    def delete_study(self, study_id: int) -> None:
        raise NotImplementedError

    @abc.abstractmethod
    def set_study_user_attr(self, study_id: int, key: str, value: Any) -> None:
        raise NotImplementedError

    @abc.abstractmethod
    def get_study_id_from_name(self, study_name: str) -> int:
        raise NotImplementedError

    @abc.abstractmethod
    def get_study_directions(self, study_id: int) -> List[StudyDirection]:
        raise NotImplementedError

    @abc.abstractmethod
    def get_study_user_attrs(self, study_id: int) -> Dict[str, Any]:
        raise NotImplementedError

    @abc.abstractmethod
    def get_all_studies(self) -> List[FrozenStudy]:
        raise NotImplementedError

    @abc.abstractmethod
    def create_new_trial(self, study_id: int, template_trial: Optional[FrozenTrial] = None) -> int:
        raise NotImplementedError
