"""The demo city's contacts roster: a person for every duty of the escalation ladder (geo/contacts.py)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from dashboard.escalation import ROSTER_ROLES
from geo.contacts import CITY_CODE, roster_frame
from geo.model import City
from geo.names import person_names

#: One in this many demo contacts reads English (so both languages of the messages are in use).
ENGLISH_EVERY = 25


def build_contacts(city: City, seed: int = 12345) -> pd.DataFrame:
    """Every unit's leader in charge and principal leader, every district's and street's supervision office and
    command center, every grid's supervisor, and the city's office and command center: one person each, with a
    phone, an e-mail address and chat ids (all made up, in reserved ranges: 100-xxxx phones, .invalid mail)."""
    rng = np.random.default_rng([seed, 14])
    codes = {
        "unit": city.units["code"].tolist(),
        "district": city.districts["code"].tolist(),
        "street": city.streets["code"].tolist(),
        "grid": city.grids["code"].tolist(),
        "city": [CITY_CODE],
    }
    keys = [(kind, code, role) for kind, roles in ROSTER_ROLES.items() for code in codes[kind] for role in roles]
    names = person_names(rng, len(keys))
    english = rng.integers(0, ENGLISH_EVERY, len(keys)) == 0
    rows = []
    for n, ((kind, code, role), name, en) in enumerate(zip(keys, names, english)):
        handle = f"{kind}-{code}-{role}".replace("_", "-")
        rows.append(
            {
                "kind": kind,
                "code": code,
                "role": role,
                "name": name,
                "phone": f"100{n:08d}",
                "email": f"{handle}@demo.invalid",
                "wecom": f"wx-{handle}",
                "dingtalk": f"dt-{handle}",
                "feishu": f"fs-{handle}",
                "lang": "en" if en else "zh",
            }
        )
    return roster_frame(rows)
