"""One rank of the gloo test in test_distributed.py: RANK, WORLD_SIZE, MASTER_ADDR/PORT come from
the environment; writes the ids of every batch it got, per mode and epoch, to <out>/rank<R>.json."""

import datetime
import json
import sys
from pathlib import Path

import torch
import torch.distributed as dist

from db4ai.data.torch import TorchDataset


def main(dsn: str, out: Path) -> None:
    # a rendezvous that cannot complete (the other rank gone) fails in a minute instead of hanging
    dist.init_process_group("gloo", init_method="env://", timeout=datetime.timedelta(seconds=60))
    rank = dist.get_rank()
    results = {}
    for mode in ("exact", "drop_tail"):
        ds = TorchDataset(dsn, "SELECT id, x, y FROM rk@1.0.0", batch_size=64, chunk_rows=100, shuffle=True, seed=11,
                          drop_tail=mode == "drop_tail", cache_dir=out / "cache", dtype=torch.float64)
        results[mode] = []
        for epoch in (0, 1, 0):
            ds.set_epoch(epoch)
            loader = torch.utils.data.DataLoader(ds, batch_size=None, num_workers=2)
            batches = [b[:, 0].long().tolist() for b in loader]
            counts = [None] * dist.get_world_size()
            dist.all_gather_object(counts, len(batches))
            results[mode].append({"batches": batches, "all_batch_counts": counts,
                                  "position": [ds.rank, ds.world_size]})
    results["cached_files"] = sum(1 for _ in (out / "cache").rglob("b*.npy"))
    (out / f"rank{rank}.json").write_text(json.dumps(results))
    dist.barrier()
    dist.destroy_process_group()


if __name__ == "__main__":
    main(sys.argv[1], Path(sys.argv[2]))
