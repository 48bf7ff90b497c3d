"""The loader's first window may go before the existence listing is answered: its rows then go with
their existence unknown. Records that already exist must still be updated (not duplicated) and
keep their before-images in the ledger, exactly as when the listing came first. And when the
listing answers while the first window's before-images are still being read by key, that read is
dropped and the window goes by the listing.

Case Status -> Dynamics 365 on the sandboxes: contacts are loaded once, the ledger of that load is
forgotten (as if another tool had written them), and the contacts are loaded again, once with the
existence listing held until the first batch is answered and once without holding it.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc

import duckdb
import pytest

from migration_assets.bench.workbench import BenchPair
from migration_assets.connectors import open_destination, resolve_connection
from migration_assets.engine import planning
from migration_assets.engine.loading import LoadSummary, load_object
from migration_assets.errors import MigrationError

PAIR = "case_status__dynamics365"
OBJ = "contact"


@pytest.fixture(scope="module")
def staged(tmp_path_factory) -> BenchPair:
    bench = BenchPair(PAIR, tmp_path_factory.mktemp("existence") / "bench")
    bench.setup(scale=800)  # about 620 contacts: more than the first window (four batches of 100)
    bench.staged_full()
    for obj in bench.spec().load_order[: bench.spec().load_order.index(OBJ)]:  # the contacts' parents
        asyncio.run(_load(bench, "parents", obj=obj, hold_listing=False))
    yield bench
    bench.close()


async def _load(
    bench: BenchPair,
    run_id: str,
    *,
    obj: str = OBJ,
    hold_listing: bool,
    hold_first_images: bool = False,
    fail_prepare: bool = False,
) -> tuple[LoadSummary, int, list[bool | str | None]]:
    """Load the staged rows of `obj` (contacts); with `hold_listing`, the existence listing is
    answered only once a first batch is (or after 30 s: a loader that waits for the listing must
    fail the test, not hang it); with `hold_first_images`, the listing is answered once the first
    before-image read is asked, and that read only after 30 s (a loader that waits for it rather
    than the listing is 30 s late, and then the test fails on what the first window knew); with
    `fail_prepare`, the connector's sign-in and metadata read fail after 0.3 s.
    Returns the summary, the destination's record count after, and the existence each row of the
    batches sent before that was given (after "read dropped" when the held read was cancelled)."""
    spec = bench.spec()
    connection = resolve_connection(bench.destination, state_dir=bench.paths.sandbox, environ={})
    dest = open_destination(bench.destination, connection)
    first_write = asyncio.Event()
    first_window: list[bool | str | None] = []  # what the loader knew of the first window's records
    frozen_while_loading: list[int] = []
    frozen_before = gc.get_freeze_count()
    listing, upsert, read_back = dest.existing, dest.upsert, dest.read_back
    images_asked = asyncio.Event()

    async def held_images(*args, **kwargs):
        if hold_first_images and not images_asked.is_set():
            images_asked.set()
            try:
                await asyncio.sleep(30)
            except asyncio.CancelledError:
                first_window.append("read dropped")
                raise
        return await read_back(*args, **kwargs)

    async def held_listing(*args, **kwargs):
        if hold_first_images:  # answered once the first window's before-images are being read
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(images_asked.wait(), 30)
        if hold_listing:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(first_write.wait(), 30)
        return await listing(*args, **kwargs)

    async def upsert_then_release(table, key, rows, *args, **kwargs):
        frozen_while_loading.append(gc.get_freeze_count())
        if not first_write.is_set():
            first_window.extend(r.exists for r in rows)
        try:
            return await upsert(table, key, rows, *args, **kwargs)
        finally:
            first_write.set()

    async def failing_prepare(table: str) -> None:
        await asyncio.sleep(0.3)  # the staged rows are read meanwhile
        raise MigrationError(f"dynamics365: no table {table!r} in the destination")

    dest.existing, dest.upsert, dest.read_back = held_listing, upsert_then_release, held_images
    if fail_prepare:
        dest.prepare = failing_prepare
    table = spec.spec.objects[obj].table
    key = spec.spec.objects[obj].external_id.column
    try:
        with duckdb.connect(str(bench.paths.staging_db(PAIR))) as conn:
            summary = await load_object(planning.effective_spec(conn, spec, "full"), obj, "full", conn, dest, run_id)
        # the objects made before the load sat out the collector's full passes during it, and are back
        assert frozen_while_loading and min(frozen_while_loading) > 0, frozen_while_loading
        return summary, await dest.count(table, key), first_window
    finally:
        await dest.aclose()
        assert gc.get_freeze_count() == frozen_before  # as it found it, also when the load failed


def _forget_ledger(bench: BenchPair) -> None:
    with duckdb.connect(str(bench.paths.staging_db(PAIR))) as conn:
        conn.execute("delete from ledger where object = ?", [OBJ])


def _before_images(bench: BenchPair, run_id: str) -> tuple[int, int]:
    """(pending rows, pending rows with a before-image) of one load."""
    with duckdb.connect(str(bench.paths.staging_db(PAIR))) as conn:
        return conn.execute(
            "select count(*), count(before_image) from ledger where run_id = ? and outcome = 'pending'", [run_id]
        ).fetchone()


@pytest.mark.parametrize("hold_listing", [True, False], ids=["listing-held", "listing-free"])
def test_existing_records_are_updated_with_before_images_whether_or_not_the_listing_came_first(
    staged: BenchPair, hold_listing: bool
) -> None:
    first, count_after_first, _ = asyncio.run(_load(staged, "first", hold_listing=False))
    rows = first.created + first.updated
    assert rows > 500, first  # more than the first window, so later windows use the listing
    _forget_ledger(staged)

    run_id = f"again-{hold_listing}"
    again, count_after_again, first_window = asyncio.run(_load(staged, run_id, hold_listing=hold_listing))

    assert first.unresolved == 0  # every parent is there
    if hold_listing:  # the path under test: the first batch went before the listing was answered
        assert first_window and all(exists is None for exists in first_window)
    assert (again.created, again.updated, again.failed) == (0, rows, 0)
    assert count_after_again == count_after_first  # nothing duplicated
    pending, with_image = _before_images(staged, run_id)
    assert pending == rows
    assert with_image == rows  # every record existed, so every one has its before-image
    _forget_ledger(staged)


def test_a_listing_answered_before_the_first_windows_images_decides_that_window(staged: BenchPair) -> None:
    first, count_after_first, _ = asyncio.run(_load(staged, "first-images", hold_listing=False))
    rows = first.created + first.updated
    _forget_ledger(staged)

    again, count_after_again, first_window = asyncio.run(
        _load(staged, "images-held", hold_listing=False, hold_first_images=True)
    )

    assert first_window[0] == "read dropped"  # the window did not wait for the held read
    assert first_window[1:] and all(exists is True for exists in first_window[1:])  # went by the listing
    assert (again.created, again.updated, again.failed) == (0, rows, 0)
    assert count_after_again == count_after_first
    pending, with_image = _before_images(staged, "images-held")
    assert (pending, with_image) == (rows, rows)  # the dropped read's images were read again
    _forget_ledger(staged)


def test_a_failed_sign_in_or_metadata_read_fails_the_load_before_anything_is_written(staged: BenchPair) -> None:
    """The connector is prepared (sign-in, metadata) while the staged rows are read and the
    existence listing is asked; when that fails (a table the destination does not know, a refused
    sign-in), the load fails with that error and has written nothing: no ledger row (so no batch:
    a batch goes only after its rows are written as pending) and no quarantine row."""
    _forget_ledger(staged)  # every contact is to write again, so a load that went on would write

    with pytest.raises(MigrationError, match="no table"):
        asyncio.run(_load(staged, "unprepared", hold_listing=False, fail_prepare=True))

    with duckdb.connect(str(staged.paths.staging_db(PAIR))) as conn:
        assert conn.execute("select count(*) from ledger where run_id = 'unprepared'").fetchone() == (0,)
        assert conn.execute("select count(*) from quarantine where run_id = 'unprepared'").fetchone() == (0,)
