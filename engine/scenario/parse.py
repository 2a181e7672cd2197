"""Text typed by people (a sidebar box, a flag, a link) into the values a scenario holds.

One parser per concept, shared by the CLI, the codecs and the app, so "3-5-3",
"3,5,3" and "3 5 3" mean the same everywhere and a bad value gets the same message.
"""

from __future__ import annotations

import re

# Commas, semicolons or spaces between sizes, or a dash after a digit (spaces around it
# allowed): "3-5-3", "3, 5, 3", "3 - 5 - 3". A dash that follows no digit is a minus
# sign, so "3--5" reads as 3 and -5 and validation says why -5 is wrong.
_SIZE_SEPARATORS = re.compile(r"\s*[,;]\s*|(?<=\d)\s*-\s*|\s+")


def parse_layer_sizes(value) -> tuple[int, ...]:
    """'3-5-3', '3,5,3', '3 5 3' or a sequence into whole numbers; ValueError otherwise.

    Only the form is checked here; how many layers and units are allowed is the
    scenario's validation (`engine.network.layout.validate_layer_sizes`).
    """
    parts = value if isinstance(value, (list, tuple)) else _SIZE_SEPARATORS.split(str(value))
    parts = [str(p).strip() for p in parts if str(p).strip()]
    try:
        return tuple(int(p) for p in parts)
    except ValueError:
        raise ValueError(
            f"layer sizes must be whole numbers separated by commas or dashes, got {value!r}"
        ) from None


def parse_shapes(text: str) -> list[tuple[int, ...]]:
    """'5x4, 3x6' into [(5, 4), (3, 6)]: weight-matrix shapes in unrolling order.

    Every comma-separated part must be a shape ("5x4," is refused); whether the shapes
    make a network is `engine.network.layout.Layout.from_shapes`'s check.
    """
    if not str(text).strip():
        raise ValueError("shapes are required, e.g. 5x4,3x6")
    try:
        return [tuple(int(v) for v in part.lower().split("x")) for part in str(text).split(",")]
    except ValueError:
        raise ValueError(f"shapes must look like 5x4,3x6, got {text!r}") from None
