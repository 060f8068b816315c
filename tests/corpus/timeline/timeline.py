import datetime as dt
import uuid
from datetime import date, time, timedelta
from decimal import Decimal

from timeline.timeline_interface import TimelineInterface


class Timeline(TimelineInterface):
    def shift(self, when: dt.datetime, by: timedelta = timedelta(hours=1)) -> dt.datetime:
        return when + by

    def day(self, when: date, at: time) -> dt.datetime:
        return dt.datetime.combine(when, at)

    def new_id(self, namespace: uuid.UUID) -> uuid.UUID:
        return uuid.uuid5(namespace, "srpc")

    def total(self, amounts: list[Decimal], rate: Decimal = Decimal("1.5")) -> Decimal:
        return sum(amounts, Decimal(0)) * rate
