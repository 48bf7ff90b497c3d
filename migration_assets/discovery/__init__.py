"""Discovery and planning: what the source and destination hold, how clean the data is, what a
mapping could be, how hard the migration is and how long it will take (issue #7).

- `source_schema`: objects, fields, types, pick-list values, JSON custom fields, counts, date ranges;
- `destination_schema`: tables, columns, option sets, required fields, keys, facts, users;
- `profiling`: duplicates, incomplete records, orphans, unmapped values and fields, oversize, owners;
- `proposing`: the offline mapping proposer behind `migrate propose`;
- `confirmation`: the load guard on unconfirmed mappings and `migrate confirm`;
- `grading`: "N of M objects map 1:1" and a letter grade with reasons;
- `estimating`: records, requests, batches and duration per phase.
"""
