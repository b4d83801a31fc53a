"""File upload and download: upload a CSV and a binary file, let code read them and write a report,
list the workspace, download the report (and an artifact), delete, and see what a bad path answers.

    PYTHONPATH=libs/sdk-python python3 examples/python/file_operations.py
"""

import json
import sys
from pathlib import Path

try:
    import executor  # noqa: F401
except ImportError:  # run from a checkout without installing the SDK
    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "libs" / "sdk-python"))

from executor import ExecutorError
from executor.sandbox import CodeSandbox

REPORT = """
import csv, json, os
rows = list(csv.DictReader(open('data/prices.csv')))
raw = open('data/blob.dat', 'rb').read()
os.makedirs('outputs', exist_ok=True)
summary = {'items': len(rows), 'total': round(sum(float(r['price']) for r in rows), 2), 'blob_bytes': len(raw)}
json.dump(summary, open('outputs/summary.json', 'w'))
print('report written')
"""


def main() -> None:
    with CodeSandbox(template="default") as sandbox:
        sandbox.upload_file("data/prices.csv", "item,price\napple,1.20\npear,0.80\nfig,2.50\n")
        sandbox.upload_file("data/blob.dat", bytes(range(256)))
        result = sandbox.run(REPORT)
        print(result.stdout.strip())
        print("workspace:", sorted(f"{e.name}{'/' if e.type == 'dir' else ''}" for e in sandbox.list_files()))
        print("data/:", sorted(e.name for e in sandbox.list_files("data")))

        report = json.loads(sandbox.download_file("outputs/summary.json"))
        print("downloaded report:", report)
        artifact = next(a for a in result.artifacts if a.name.endswith("summary.json"))
        print(f"artifact: {artifact.name} ({artifact.type}) equals the download: {json.loads(artifact.content) == report}")

        sandbox.delete_file("outputs/summary.json")
        print("outputs/ after delete:", [e.name for e in sandbox.list_files("outputs")])
        try:
            sandbox.download_file("../etc/passwd")
        except ExecutorError as e:
            print(f"a path outside /workspace: HTTP {e.status} {e.code}")


if __name__ == "__main__":
    main()
