"""``python _alias_worker.py URI ARTIFACTS VERSION``: after a line on stdin, point 'challenger' at VERSION 100 times."""

import sys

import shipyard as sy

uri, artifacts, version = sys.argv[1], sys.argv[2], int(sys.argv[3])
client = sy.Client(uri, artifacts=artifacts, capture_environment=False)
print("ready", flush=True)
sys.stdin.readline()
for _ in range(100):
    client.models.set_alias("churn", version, "challenger")
print("done", flush=True)
