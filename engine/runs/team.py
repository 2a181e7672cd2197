"""Who may list which runs: a run is opened by its id, and listed only to whoever holds
the key it was filed under.

Runs hold users' code, and a team's server may be reachable by more people than the
team (a course server, a leaked address). So no one lists the whole database from the
app: a history shows the runs a session saved or opened, and the runs filed under a team
key, a 128-bit secret a team shares like a password. The database keeps only the key's
SHA-256, so a copy of the database does not hand out the keys. Whoever holds the
database URL (the CLI, an administrator) reads everything anyway.
"""

from __future__ import annotations

import hashlib
import re

from engine.runs.record import url_safe_token

TEAM_KEY = re.compile(r"^[A-Za-z0-9_-]{16,64}$")
TEAM_TAG_LENGTH = 64  # hex digits of SHA-256


class BadTeamKey(ValueError):
    """A team key that could be guessed, or is not one: nothing is filed or listed by it."""


def new_team_key() -> str:
    """22 URL-safe characters, 128 random bits, never starting with '-'."""
    return url_safe_token()


def team_tag(key: str) -> str:
    """What the database stores for `key`; BadTeamKey says why a key is refused."""
    key = key.strip() if isinstance(key, str) else key
    if not isinstance(key, str) or not TEAM_KEY.match(key):
        raise BadTeamKey(
            "A team key is 16 to 64 letters, digits, '-' or '_' (a new one is made for "
            "you on request): a shorter or common word could be guessed by anyone who "
            "reaches the server."
        )
    return hashlib.sha256(key.encode()).hexdigest()
