"""`<reports>/<pair>/index.html`: one page per pair linking every report written so far.

The page is rebuilt from the files in the pair's report folder (whoever wrote them: a `migrate` run,
a run launched in the UI, the plan job, a rollback), grouped by what a person looks for: sign-off
(reconciliation), the field-level diff, plan and discovery, schema, owners, custom fields, files,
flags, exports and rollbacks. Links are relative, so the folder can be zipped and handed over.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from migration_assets.reports import html

# (section, how a file's path relative to the pair's folder starts); the first match wins
SECTIONS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("Sign-off: reconciliation", ("reconciliation-",)),
    ("Field-level diff", ("diff-",)),
    ("Plan, estimate and grade", ("plan/",)),
    ("Discovery", ("discover/",)),
    ("Profiles of the extracted records", ("profile/",)),
    ("Schema: diff and setup checklist", ("schema_diff_", "schema_plan")),
    ("Owners", ("owners_",)),
    ("Custom fields", ("custom_fields_",)),
    ("Files", ("files_", "files-")),
    ("Flags", ("flags",)),
    ("Exports and rebuild guides", ("exports/",)),
    ("Rollbacks", ("rollback-",)),
)
KINDS = (".html", ".md", ".json", ".csv")


def write_index(folder: Path, pair: str) -> Path:
    """Write `<folder>/index.html` linking every report in `folder` (recursively).

    Args:
        folder: the pair's report folder, `<var>/reports/<pair>`.
        pair: the pair's name, for the title.

    Returns:
        The index page's path.
    """
    folder.mkdir(parents=True, exist_ok=True)
    grouped: dict[str, list[Path]] = {}
    for path in sorted(folder.rglob("*")):
        if path.is_file() and path.suffix in KINDS and path.name != "index.html":
            grouped.setdefault(_section(path.relative_to(folder).as_posix()), []).append(path)
    body = [f"<h1>Reports · {html.esc(pair)}</h1>"]
    body.append(
        f"<p class='muted'>Every report of this pair in {html.esc(folder)}; rebuilt after each run. "
        "HTML pages are for reading, JSON files hold the same facts for programs.</p>"
    )
    order = [s for s, _ in SECTIONS] + ["Other"]
    for section in sorted(grouped, key=order.index):
        body.append(f"<h2>{html.esc(section)}</h2>" + _table(folder, _preferred_first(grouped[section])))
    if len(body) == 2:
        body.append("<p><em>No report yet: run the sample phase first.</em></p>")
    path = folder / "index.html"
    path.write_text(html.page(f"Reports {pair}", "".join(body)), encoding="utf-8")
    return path


def _section(relative: str) -> str:
    name = relative.rsplit("/", 1)[-1]
    for section, starts in SECTIONS:
        if any(relative.startswith(s) or name.startswith(s) for s in starts):
            return section
    return "Other"


def _preferred_first(paths: list[Path]) -> list[Path]:
    return sorted(paths, key=lambda p: (p.with_suffix("").as_posix(), KINDS.index(p.suffix)))


def _table(folder: Path, paths: list[Path]) -> str:
    """One row per report (its stem): the first kind links in `report`, the others in `also as`."""
    by_stem: dict[Path, list[Path]] = {}
    for path in paths:
        by_stem.setdefault(path.with_suffix(""), []).append(path)
    rows = []
    for stem, kinds in by_stem.items():
        main, *others = kinds
        written = datetime.fromtimestamp(main.stat().st_mtime).strftime("%Y-%m-%d %H:%M")
        also = " ".join(_link(folder, p, p.suffix.lstrip(".")) for p in others)
        rows.append(
            f"<tr><td>{_link(folder, main, stem.relative_to(folder).as_posix())}</td><td>{also}</td>"
            f"<td>{written}</td></tr>"
        )
    return f"<table><tr><th>report</th><th>also as</th><th>written</th></tr>{''.join(rows)}</table>"


def _link(folder: Path, path: Path, text: str) -> str:
    return f'<a href="{html.esc(path.relative_to(folder).as_posix())}">{html.esc(text)}</a>'
