"""datetime, date, time, timedelta, UUID and Decimal, imported three ways."""

import datetime as dt
import uuid
from abc import ABC, abstractmethod
from datetime import date, time, timedelta
from decimal import Decimal


class TimelineInterface(ABC):
    @abstractmethod
    def shift(self, when: dt.datetime, by: timedelta = timedelta(hours=1)) -> dt.datetime: ...

    @abstractmethod
    def day(self, when: date, at: time) -> dt.datetime: ...

    @abstractmethod
    def new_id(self, namespace: uuid.UUID) -> uuid.UUID: ...

    @abstractmethod
    def total(self, amounts: list[Decimal], rate: Decimal = Decimal("1.5")) -> Decimal: ...
