"""With pyarrow installed: reads a LeRobot v2.1 export as LeRobot's loader does (meta/info.json,
meta/episodes.jsonl, the data files by info.json's data_path) and checks every declared feature
against the columns. Prints a summary as JSON. Run by test/python-gym.e2e.test.ts.

    python python/tests/lerobot_read.py path/to/lerobot-export
"""

import json, pathlib, sys
import pyarrow.parquet as pq

root = pathlib.Path(sys.argv[1])
info = json.loads((root / "meta" / "info.json").read_text())
episodes = [json.loads(line) for line in (root / "meta" / "episodes.jsonl").read_text().splitlines() if line]
tasks = [json.loads(line) for line in (root / "meta" / "tasks.jsonl").read_text().splitlines() if line]
frames, index = 0, []
for episode in episodes:
    k = episode["episode_index"]
    path = root / info["data_path"].format(episode_chunk=k // info["chunks_size"], episode_index=k)
    table = pq.read_table(path)
    assert table.num_rows == episode["length"], (path, table.num_rows, episode["length"])
    for name, feature in info["features"].items():
        column = table.column(name)
        shape = feature["shape"]
        if shape != [1]:
            width = len(column[0].as_py())
            assert width == shape[0], (name, width, shape)
            dtype = str(column.type.value_type)
        else:
            dtype = str(column.type)
        expected = {"float32": "float", "float64": "double", "int64": "int64", "bool": "bool"}[feature["dtype"]]
        assert dtype == expected, (name, dtype, feature["dtype"])
    assert table.column("frame_index").to_pylist() == list(range(table.num_rows))
    index += table.column("index").to_pylist()
    frames += table.num_rows
assert index == list(range(frames)), "the global index is not 0 … frames − 1 in order"
print(json.dumps({
    "codebase_version": info["codebase_version"],
    "fps": info["fps"],
    "episodes": len(episodes),
    "frames": frames,
    "tasks": [t["task"] for t in tasks],
    "features": sorted(info["features"]),
}))
