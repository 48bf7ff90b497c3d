"""CRM migration workbench: mapping specs turned into Dagster assets that extract, stage, load and verify."""
