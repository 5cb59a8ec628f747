"""The two-node Ray test's body, run inside a loopback-only namespace (see `netns`).

`python -m tests.batch.ray_cluster SRC OUT REPORT MODEL` starts a head node and a second node
that carries a resource of its own, runs `rtseg batch --ray ADDRESS` on them while killing one
worker mid-file, and prints JSON: the exit status, each node's id and resources, and the pid
killed. Both nodes are stopped at the end, whatever happened.
"""

from __future__ import annotations

import json
import os
import sys
import threading
from pathlib import Path

import ray
from ray.cluster_utils import Cluster

from rtseg.cli import main as rtseg_main
from tests.batch.processes import kill_a_worker_mid_file


def main(src: str, out: str, report: str, model: str) -> None:
    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 1})
    try:
        cluster.add_node(num_cpus=1, resources={"second_node": 1})
        cluster.wait_for_nodes()
        ray.init(address=cluster.address, log_to_driver=False)
        killed: list[int] = []
        killer = threading.Thread(
            target=lambda: killed.append(kill_a_worker_mid_file(os.getpid(), Path(out).absolute())),
            daemon=True,
        )
        killer.start()
        code = rtseg_main(
            ["batch", src, "--out", out, "--model", model, "--report", report, "-q",
             "--ray", cluster.address]
        )  # fmt: skip
        killer.join(5)
        nodes = {n["NodeID"]: n["Resources"] for n in ray.nodes() if n["Alive"]}
        print(json.dumps({"exit": code, "nodes": nodes, "killed": killed}))
    finally:
        ray.shutdown()
        cluster.shutdown()


if __name__ == "__main__":
    main(*sys.argv[1:5])
