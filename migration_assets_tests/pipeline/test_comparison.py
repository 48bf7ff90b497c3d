"""The diff's and reconciliation's value comparison: its shortcuts agree with the full normalization."""

from datetime import UTC, date, datetime

from migration_assets.engine.comparison import filled, normalize, same

VALUES = [
    None,
    "",
    " ",
    "text",
    0,
    0.0,
    float("nan"),
    float("inf"),
    False,
    [],
    date(2024, 1, 2),
    datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC),
    "2024-01-02T03:04:05Z",
]


def test_filled_is_whether_a_value_is_there_and_normalize_agrees():
    there = [filled(v) for v in VALUES]
    assert there == [False, False, True, True, True, True, False, False, True, True, True, True, True]
    for value in VALUES:
        assert filled(value) == (normalize(value) is not None), value


def test_a_timestamp_read_back_as_sent_or_in_another_form_is_the_same():
    staged = datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)
    assert same(staged, "2024-01-02T03:04:05Z")  # as the loader sent it
    assert same(staged, "2024-01-02T03:04:05.000+00:00")  # the service's own form
    assert not same(staged, "2024-01-02T03:04:06Z")
    assert same(date(2024, 1, 2), "2024-01-02T00:00:00Z")  # a date read back as midnight UTC
    assert same(1, 1.0000000001) and not same(1, 1.1)
