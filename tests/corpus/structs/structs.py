from typing import Annotated

import msgspec

from structs.structs_interface import Group, StructsInterface, User


class Structs(StructsInterface):
    def oldest(self, group: Group) -> User | None:
        return max(group.members, key=lambda u: u.age, default=None)

    def group(self, *users: User) -> Group:
        return Group(members=list(users))

    def older_than(self, group: Group, age: Annotated[int, msgspec.Meta(ge=0)] = 0) -> list[User]:
        return [u for u in group.members if u.age > age]
