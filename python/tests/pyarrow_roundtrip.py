"""With pyarrow installed: rewrites every episode file of an armprior dataset in place, as a
user's script does: pq.write_table(pq.read_table(f), f). Prints the metadata keys each file has
afterwards, as JSON. Run by test/python-gym.e2e.test.ts.

    python python/tests/pyarrow_roundtrip.py path/to/dataset
"""

import json, pathlib, sys
import pyarrow.parquet as pq

keys = {}
for path in sorted((pathlib.Path(sys.argv[1]) / "episodes").glob("episode-*.parquet")):
    pq.write_table(pq.read_table(path), path)
    keys[path.name] = sorted(k.decode() for k in (pq.read_metadata(path).metadata or {}) if k.startswith(b"armprior."))
print(json.dumps(keys))
