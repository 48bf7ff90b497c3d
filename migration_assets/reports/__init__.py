"""Reports built from the staging file, the ledger and the destination: JSON and HTML."""
