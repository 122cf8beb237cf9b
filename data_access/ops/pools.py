"""The thread pools an app runs background work in (a drill page's early reads, report builds asked for on the
page): each app's own, and every open one stopped in one call when the app stops serving (`close_all`), so none
is left with idle threads for whatever ends the process to interrupt."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from weakref import WeakSet

_OPEN: WeakSet[ThreadPoolExecutor] = WeakSet()


def pool(workers: int, name: str) -> ThreadPoolExecutor:
    """A pool of `workers` threads named `name-N`, stopped by `close_all`."""
    made = ThreadPoolExecutor(max_workers=workers, thread_name_prefix=name)
    _OPEN.add(made)
    return made


def close_all(wait: bool = True) -> None:
    """Stop every open pool: work not started is dropped (a page reads again what it needs, a build is asked for
    again or made by the schedule), work under way finishes (waited for with `wait`), and the threads end."""
    for p in list(_OPEN):
        p.shutdown(wait=wait, cancel_futures=True)
        _OPEN.discard(p)
