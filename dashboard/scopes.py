"""Roles and the area each may see: the one place that says who sees what."""

from __future__ import annotations

from dataclasses import dataclass, field

#: Roles, widest first.
COMMAND_CENTER = "command_center"
DISTRICT_LEADER = "district_leader"
STREET_LEADER = "street_leader"
GRID_SUPERVISOR = "grid_supervisor"
ROLES = (COMMAND_CENTER, DISTRICT_LEADER, STREET_LEADER, GRID_SUPERVISOR)

#: Levels of the place hierarchy, top down.
LEVELS = ("city", "district", "street", "community", "grid")


class ScopeError(ValueError):
    """A role given the wrong kind of area (e.g. a district leader without a district)."""


@dataclass(frozen=True)
class Scope:
    """What one signed-in user or display may see: the whole city, a district, a street or some grids."""

    role: str
    district: str | None = None
    street: str | None = None
    grids: frozenset[str] = field(default_factory=frozenset)

    def __post_init__(self) -> None:
        need = {
            COMMAND_CENTER: (None, None, False),
            DISTRICT_LEADER: ("district", None, False),
            STREET_LEADER: (None, "street", False),
            GRID_SUPERVISOR: (None, None, True),
        }
        if self.role not in need:
            raise ScopeError(f"unknown role {self.role!r}; one of {', '.join(ROLES)}")
        d, s, g = need[self.role]
        if bool(d) != bool(self.district) or bool(s) != bool(self.street) or g != bool(self.grids):
            wants = d or s or ("grids" if g else "no area")
            raise ScopeError(f"role {self.role} takes {wants}")

    def covers(self, district: str | None, street: str | None = None, grid: str | None = None) -> bool:
        """Whether a thing at this place (e.g. an appeal, a member) is inside the scope."""
        if self.role == COMMAND_CENTER:
            return True
        if self.role == DISTRICT_LEADER:
            return district is not None and district == self.district
        if self.role == STREET_LEADER:
            return street is not None and street == self.street
        return grid is not None and grid in self.grids

    def can_view(self, level: str, code: str | None, parents: dict[str, str | None]) -> bool:
        """Whether a whole area page (level, code) lies inside the scope; `parents` maps level -> code."""
        if self.role == COMMAND_CENTER:
            return True
        if level == "city":
            return False
        place = {**parents, level: code}
        if self.role == DISTRICT_LEADER:
            return place.get("district") == self.district
        if self.role == STREET_LEADER:
            return level != "district" and place.get("street") == self.street
        return level == "grid" and code in self.grids

    @property
    def home(self) -> tuple[str, str | None]:
        """The (level, code) a user of this scope lands on."""
        if self.role == DISTRICT_LEADER:
            return "district", self.district
        if self.role == STREET_LEADER:
            return "street", self.street
        if self.role == GRID_SUPERVISOR:
            return "grid", sorted(self.grids)[0]
        return "city", None

    def describe(self) -> str:
        """A short text for logs and the user list."""
        area = self.district or self.street or ",".join(sorted(self.grids)) or "city"
        return f"{self.role}:{area}"
