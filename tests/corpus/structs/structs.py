from structs.structs_interface import Group, StructsInterface, User


class Structs(StructsInterface):
    def oldest(self, group: Group) -> User | None:
        return max(group.members, key=lambda u: u.age, default=None)

    def group(self, *users: User) -> Group:
        return Group(members=list(users))
