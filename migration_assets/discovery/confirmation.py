"""Mappings a person has not confirmed yet: the load guard and `migrate confirm`.

A draft of `migrate propose` marks each object `confirmed: false` and each proposed column
`proposals: {column: {confidence, reason, confirmed: false}}`. Loads refuse such an object, naming it
and its unconfirmed columns; `confirm_text` flips the flags in the YAML text line by line, so the
comments and layout of the file stay as they are.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from migration_assets.spec.loader import LoadedSpec

FALSE = re.compile(r"(\bconfirmed:\s*)false\b")


def unconfirmed(loaded: LoadedSpec, obj_name: str) -> list[str]:
    """The unconfirmed parts of an object: 'object' itself and/or its proposed columns."""
    obj = loaded.spec.objects[obj_name]
    pending = [] if obj.confirmed else ["object"]
    return pending + sorted(c for c, p in obj.proposals.items() if not p.confirmed)


def confirmation_problem(loaded: LoadedSpec, obj_name: str) -> str | None:
    """Why `obj_name` may not load yet, or None when every mapping of it is confirmed."""
    pending = unconfirmed(loaded, obj_name)
    if not pending:
        return None
    columns = [p for p in pending if p != "object"]
    what = f"unconfirmed columns: {', '.join(columns)}" if columns else "the object mapping is unconfirmed"
    return (
        f"load of {obj_name} refused: its mapping in {loaded.file} is a proposal nobody confirmed "
        f"({what}). Review it, then run `migrate confirm {loaded.pair} --object {obj_name}` "
        f"or set `confirmed: true` in the YAML."
    )


def confirm_text(text: str, loaded: LoadedSpec, objects: Sequence[str] | None = None) -> tuple[str, int]:
    """Set every `confirmed: false` inside the given objects (all when None) to true.

    Args:
        text: the spec file's YAML text.
        loaded: the same file, loaded (for the line range of each object).
        objects: object names; every object when None.

    Returns:
        (new text, number of flags changed).
    """
    names = list(objects) if objects is not None else list(loaded.spec.objects)
    starts = sorted((loaded.lines[f"objects.{n}"], n) for n in loaded.spec.objects)
    lines = text.splitlines(keepends=True)
    wanted: set[int] = set()
    for i, (start, name) in enumerate(starts):
        if name in names:
            end = starts[i + 1][0] if i + 1 < len(starts) else _section_end(lines, start)
            wanted.update(range(start - 1, end - 1))
    changed = 0
    for index in sorted(wanted):
        new, n = FALSE.subn(r"\1true", lines[index])
        lines[index], changed = new, changed + n
    return "".join(lines), changed


def _section_end(lines: list[str], start: int) -> int:
    """1-based line after the last object: the next top-level key, or the end of the file."""
    for number in range(start + 1, len(lines) + 1):
        line = lines[number - 1]
        if line[:1].isalpha():
            return number
    return len(lines) + 1
