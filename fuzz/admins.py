"""Prints how many active members hold the built-in Administrator role, read from the
database at DATABASE_URL (sqlite://path or postgres://...)."""
import subprocess
import sqlite3
import sys

url = sys.argv[1]
sql = ("SELECT count(*) FROM members JOIN roles ON roles.id = members.role_id "
       "WHERE roles.built_in AND members.status = 'ACTIVE'")
if url.startswith("sqlite:"):
    path = url.split(":", 1)[1].removeprefix("//")
    print(sqlite3.connect(path).execute(sql).fetchone()[0])
else:
    out = subprocess.run(["psql", url, "-tAc", sql], check=True, capture_output=True, text=True)
    print(out.stdout.strip())
