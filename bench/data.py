"""The benchmark's two shapes of a day of default-format gzip objects (5 million records by default).

- random: a few big objects of uniformly random traffic (any address, port and
  interface), the worst case for compression and for grouping;
- day: a realistic day, one object per flow log every 5 minutes (4 flow logs,
  1,152 objects) following a daily rhythm (flowlake.generate's estate), where
  listing and per-object costs count.

Generation is vectorized (numpy, pyarrow) and deterministic (seeded).
"""

from __future__ import annotations

import contextlib
import multiprocessing
from datetime import datetime, timedelta

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from flowlake.generate import DEFAULT_FORMAT, encode_text, join, write_benchmark_day, write_bytes, write_nat_inventory
from flowlake.layout import object_key

SHAPES = ("random", "day")
RANDOM_OBJECTS = 20
RANDOM_ACCOUNT, RANDOM_REGION, RANDOM_FLOW_LOG = "111122223333", "us-east-1", "fl-0random0000000001"
RANDOM_INTERFACES = 4096


def _ipv4(rng: np.random.Generator, count: int) -> pa.Array:
    octets = [pa.array(rng.integers(0, 256, count)).cast(pa.string()) for _ in range(4)]
    return pc.binary_join_element_wise(*octets, ".")


def random_records(seed: int, hour: datetime, count: int) -> pa.Table:
    """`count` default-format records starting in `hour`, every value drawn uniformly."""
    rng = np.random.default_rng([seed, int(hour.timestamp())])
    interfaces = pa.array([f"eni-{n:017x}" for n in range(RANDOM_INTERFACES)]).take(
        pa.array(rng.integers(0, RANDOM_INTERFACES, count))
    )
    status = rng.choice(np.array(["OK", "NODATA", "SKIPDATA"]), size=count, p=[0.994, 0.005, 0.001])
    ok = pa.array(status == "OK")

    def traffic(values: pa.Array) -> pa.Array:
        return pc.if_else(ok, values, pa.scalar(None, values.type))

    start = int(hour.timestamp()) + rng.integers(0, 3600, count)
    packets = rng.integers(1, 10_000, count)
    return pa.table(
        {
            "version": pa.array(np.full(count, 2, dtype=np.int32)),
            "account_id": pa.array([RANDOM_ACCOUNT] * count),
            "interface_id": interfaces,
            "srcaddr": traffic(_ipv4(rng, count)),
            "dstaddr": traffic(_ipv4(rng, count)),
            "srcport": traffic(pa.array(rng.integers(0, 65536, count, dtype=np.int32))),
            "dstport": traffic(pa.array(rng.integers(0, 65536, count, dtype=np.int32))),
            "protocol": traffic(pa.array(rng.choice(np.array([6, 17, 1], dtype=np.int32), count))),
            "packets": traffic(pa.array(packets)),
            "bytes": traffic(pa.array(packets * rng.integers(40, 1500, count))),
            "start": pa.array(start),
            "end": pa.array(start + rng.integers(0, 600, count)),
            "action": traffic(pa.array(np.where(rng.random(count) < 0.05, "REJECT", "ACCEPT"))),
            "log_status": pa.array(status),
        }
    )


def _write_random_object(task: tuple) -> int:
    out, seed, hour, count = task
    # Named 5 minutes into the hour its records start in, as AWS names an object by its records' end.
    key = object_key(
        RANDOM_ACCOUNT, RANDOM_REGION, RANDOM_FLOW_LOG, hour + timedelta(minutes=5), f"{seed:04d}{hour:%H}ab"
    )
    data = encode_text(DEFAULT_FORMAT, random_records(seed, hour, count))
    write_bytes(join(out, key), data)
    return len(data)


def write_random_objects(out: str, start: datetime, records: int, seed: int = 11, processes: int = 2) -> dict:
    """RANDOM_OBJECTS objects, one per hour from start, exactly `records` records in all."""
    counts = [records // RANDOM_OBJECTS + (k < records % RANDOM_OBJECTS) for k in range(RANDOM_OBJECTS)]
    tasks = [(out, seed, start + timedelta(hours=k), count) for k, count in enumerate(counts)]
    with contextlib.ExitStack() as stack:
        if processes > 1:
            # spawn, not fork: a forked child can inherit a lock held by one of Arrow's threads.
            pool = stack.enter_context(multiprocessing.get_context("spawn").Pool(processes))
            sizes = list(pool.imap_unordered(_write_random_object, tasks))
        else:
            sizes = [_write_random_object(task) for task in tasks]
    # No NAT gateway in random traffic: the NAT figures are computed over an empty inventory.
    inventory = write_nat_inventory(out, ())
    return {"objects": len(tasks), "records": records, "bytes": sum(sizes), "nat_inventory": inventory}


def write_shape(shape: str, out: str, start: datetime, records: int, processes: int = 2) -> dict:
    if shape == "random":
        return write_random_objects(out, start, records, processes=processes)
    return write_benchmark_day(out, start, records, processes=processes)
