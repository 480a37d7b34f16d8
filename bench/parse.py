"""Benchmark: parsing 45k ALERT rows (ALERT's full size) with the auditor's loader.

Builds temporary files of ALERT's real row counts (14,763 plain + 30,968 adversarial) by
repeating the sample rows, then times `load_folder`, and `json.loads` alone as the floor.
Prints one JSON line.
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from itertools import cycle, islice
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from auditor.data.dataset import load_folder

SAMPLES = Path(__file__).resolve().parent.parent / "samples"
SIZES = {"alert.jsonl": 14_763, "alert_adversarial.jsonl": 30_968}


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        for name, rows in SIZES.items():
            lines = (SAMPLES / name).read_text().splitlines()
            out = []
            for index, line in enumerate(islice(cycle(lines), rows)):
                row = json.loads(line)
                row["id"] = index
                out.append(json.dumps(row))
            (folder / name).write_text("\n".join(out) + "\n")
        best = float("inf")
        for _ in range(5):
            start = time.perf_counter()
            dataset = load_folder(folder)
            best = min(best, time.perf_counter() - start)
        floor = float("inf")
        for _ in range(5):
            start = time.perf_counter()
            for name in SIZES:
                for line in (folder / name).open():
                    json.loads(line)
            floor = min(floor, time.perf_counter() - start)
    print(json.dumps({"bench": "parse", "rows": sum(SIZES.values()),
                      "prompts_loaded": len(dataset.prompts), "seconds": round(best, 3),
                      "json_loads_only_seconds": round(floor, 3),
                      "ratio_vs_json_loads": round(best / floor, 2)}))


if __name__ == "__main__":
    main()
