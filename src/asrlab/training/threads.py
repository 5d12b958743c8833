"""How many threads torch's CPU operators use: the `threads` config key of each entry point.

torch's default is one per core, each spinning while it waits for the others: on a machine
shared with other jobs a step then takes up to 30 times longer whenever a core is busy.
"""

import os

import torch


def available_cpus() -> int:
    """The CPUs this process may run on (its affinity: taskset, a SLURM or container cpuset)."""
    return len(os.sched_getaffinity(0))


def set_threads(threads: int | None) -> str:
    """Sets torch's intra-op threads to `threads`, or with None to half the available CPUs (at
    least 1), leaving the rest to data loading and to other jobs. Returns where the number came
    from, for run_info.json. (Data-loader workers run one thread each: torch sets it.)"""
    if threads is not None and (type(threads) is not int or threads < 1):
        raise ValueError(f"threads must be a positive integer or null (default), got {threads!r}")
    if threads is None:
        cpus = available_cpus()
        threads = max(1, cpus // 2)
        origin = f"threads=null: half of the {cpus} available CPUs"
    else:
        origin = f"threads={threads}"
    torch.set_num_threads(threads)
    return origin
