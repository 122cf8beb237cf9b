"""What a wall shows: its view (city, a district, a street), its URL state and the tour through views."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import parse_qs, urlencode

LEVELS = ("city", "district", "street")


@dataclass(frozen=True)
class View:
    """The area a screen shows: the whole city, one district or one street."""

    level: str = "city"
    code: str | None = None

    @classmethod
    def parse(cls, text: str | None) -> View:
        """'city', 'd:110105' or 's:110105001'; anything else is the city view."""
        if text and len(text) > 2 and text[1] == ":" and text[0] in "ds":
            code = text[2:]
            if code.isalnum() and len(code) <= 16:
                return cls("district" if text[0] == "d" else "street", code)
        return cls()

    @property
    def key(self) -> str:
        """The view as it is written in URLs and caches."""
        return "city" if self.level == "city" else f"{self.level[0]}:{self.code}"


@dataclass(frozen=True)
class WallState:
    """Everything a screen is set up with; all of it lives in the URL."""

    lang: str = "zh"
    view: View = View()
    tour_s: int = 0  # 0: no tour; else seconds per stop
    kiosk: bool = False

    @classmethod
    def from_url(
        cls, pathname: str | None, search: str | None, default_lang: str, tour_default_s: int, tour_min_s: int = 5
    ) -> WallState:
        """Read ?lang=, ?view=, ?tour= (1 or seconds) and whether the path is the kiosk /wall."""
        q = parse_qs((search or "").lstrip("?"))
        first = lambda k: (q.get(k) or [""])[0]  # noqa: E731
        lang = first("lang") if first("lang") in ("zh", "en") else default_lang
        tour = first("tour")
        tour_s = 0
        if tour and tour.isdigit():
            n = int(tour)
            tour_s = tour_default_s if n == 1 else (max(n, tour_min_s) if n > 1 else 0)
        kiosk = (pathname or "/").rstrip("/").endswith("/wall")
        return cls(lang, View.parse(first("view")), tour_s, kiosk)

    def query(self, **change: object) -> str:
        """This state's query string, with some fields changed (lang=, view=, tour_s=)."""
        lang = change.get("lang", self.lang)
        view = change.get("view", self.view)
        tour = change.get("tour_s", self.tour_s)
        q: dict[str, object] = {"lang": lang}
        if isinstance(view, View) and view.level != "city":
            q["view"] = view.key
        if tour:
            q["tour"] = tour
        return "?" + urlencode(q)


def tour_stops(worst_districts: list[str], worst_streets: list[str]) -> list[View]:
    """The tour: the city, then the worst districts, then the worst streets."""
    return [View()] + [View("district", c) for c in worst_districts] + [View("street", c) for c in worst_streets]


def tour_stop(stops: list[View], epoch_s: float, dwell_s: int) -> View:
    """The stop shown at this time: every wall with the same link shows the same stop at once."""
    if not stops or dwell_s <= 0:
        return View()
    return stops[int(epoch_s // dwell_s) % len(stops)]
