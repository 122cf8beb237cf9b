"""HTML data-* attributes for Dash components, which take them only as keyword arguments with a hyphen."""

from __future__ import annotations

from typing import Any


def dataset(**values: str | int) -> dict[str, Any]:
    """Keyword arguments that give a component data-* attributes: `html.Div(**dataset(metric="open"))`."""
    # Values typed Any: Dash's generated constructors pass data-* through an untyped **kwargs, and a splat
    # of dict[str, str] would be checked against every typed property of the component instead.
    return {f"data-{name}": value for name, value in values.items()}
