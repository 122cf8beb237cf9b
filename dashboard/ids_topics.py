"""Component ids of the topic pages and the wall's topic panel (the shell's ids live in dashboard/ids.py)."""

from __future__ import annotations

PAGE = "topics-page"
FORM_NAME = "topic-form-name"
FORM_CATS = "topic-form-categories"
FORM_AREAS = "topic-form-areas"
FORM_KEYWORDS = "topic-form-keywords"
FORM_LEAD = "topic-form-lead"
FORM_START = "topic-form-start"
FORM_SUBMIT = "topic-form-submit"
FORM_MESSAGE = "topic-form-message"
LIST = "topics-list"
SERIES = "topic-series"
MAP = "topic-map"
WALL_PANEL = "wall-topics"
WALL_TICK = "wall-topics-tick"
