"""CRM migration workbench: mapping specs turned into Dagster assets that extract, stage, load and verify."""

from migration_assets.heap import bound_malloc_arenas

bound_malloc_arenas()  # first thing in every process of the workbench, before any thread starts
