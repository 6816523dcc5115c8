"""Data-parallel training under ``torchrun``: who this process is, and the few collectives the loop needs.

torchrun starts one process per device and sets RANK / WORLD_SIZE / LOCAL_RANK;
torch.distributed does the rest (NCCL between GPUs, gloo on the CPU). Nothing
here manages processes. Every rank runs the same loop on the same config:

- the epoch's permutation is drawn from one generator seeded alike on every
  rank, so all ranks agree on it without a message; each takes its slice of
  every global batch (``--batch-size`` stays the global batch);
- augmentation draws from a per-rank generator, so ranks see different crops;
- evaluation splits each split into contiguous shards and sums the counts, so
  every image is scored exactly once and the metrics equal one process's;
- stops and divergence are agreed by an all-reduce at fixed steps, so every
  rank leaves the loop at the same step; rank 0 alone writes the run.

Single-process runs get ``SINGLE`` and take none of these paths.
"""
from __future__ import annotations

import datetime
import os
import re
import sys
from dataclasses import dataclass
from typing import Any, NoReturn

import torch
import torch.distributed as dist

from engine.config import RunConfig, UserError
from engine.device.launch import WORLD_ENV, under_torchrun


@dataclass(frozen=True)
class Dist:
    """This process's place in the job: rank r of world processes."""

    rank: int = 0
    world: int = 1
    local_rank: int = 0
    backend: str | None = None

    @property
    def active(self) -> bool:
        return self.world > 1

    @property
    def is_main(self) -> bool:
        """Rank 0 writes the run and prints; the others stay silent."""
        return self.rank == 0

    def describe(self, batch_size: int) -> dict[str, Any]:
        """What config.json records about the job (absent for one process)."""
        return {"world_size": self.world, "backend": self.backend, "global_batch": batch_size,
                "per_rank_batch": batch_size // self.world}


SINGLE = Dist()


def check_world(config: RunConfig, world: int, device: torch.device) -> None:
    """Refuse what cannot work before anything is written (one line, how to fix it)."""
    if config.sync_bn and device.type != "cuda":
        raise UserError("--sync-bn needs GPUs (PyTorch's SyncBatchNorm runs on CUDA only): drop it on the CPU")
    if config.batch_size % world:
        raise UserError(f"--batch-size {config.batch_size} does not split over {world} processes: "
                        f"use a multiple of {world} (the batch size is the global batch, shared by all ranks)")
    if config.eval_batch_size < world:
        raise UserError(f"--eval-batch-size {config.eval_batch_size} is smaller than the {world} processes")


def setup(config: RunConfig, device: torch.device) -> Dist:
    """Join the job torchrun started (a no-op for one process); returns this process's Dist.

    The timeout bounds every collective: a rank that dies or hangs makes the others fail
    with a clear error after ``--dist-timeout`` seconds instead of waiting forever.
    """
    if not under_torchrun():
        return SINGLE
    world = int(os.environ[WORLD_ENV])
    check_world(config, world, device)
    backend = "nccl" if device.type == "cuda" else "gloo"
    if not dist.is_initialized():
        try:
            dist.init_process_group(backend, timeout=datetime.timedelta(seconds=config.dist_timeout))
        except (RuntimeError, ValueError, TimeoutError) as exc:
            where = f"{os.environ.get('MASTER_ADDR', '?')}:{os.environ.get('MASTER_PORT', '?')}"
            raise UserError(f"could not join the {world}-process job at {where} ({_first_line(exc)}): "
                            "check torchrun's --rdzv-endpoint / --master-addr and that the port is open") from exc
    return Dist(dist.get_rank(), dist.get_world_size(), int(os.environ.get("LOCAL_RANK", "0")), backend)


def device_for(requested: torch.device) -> torch.device:
    """Under torchrun each process drives its own GPU: cuda:LOCAL_RANK."""
    if requested.type == "cuda" and under_torchrun():
        local = int(os.environ.get("LOCAL_RANK", "0"))
        if local >= torch.cuda.device_count():
            raise UserError(f"LOCAL_RANK {local} but only {torch.cuda.device_count()} GPUs are visible: "
                            "start torchrun with --nproc-per-node at most the number of GPUs")
        torch.cuda.set_device(local)
        return torch.device("cuda", local)
    return requested


def teardown() -> None:
    """Leave the job (a no-op for one process)."""
    if dist.is_initialized():
        dist.destroy_process_group()


def exit_worker(code: int) -> NoReturn:
    """End a torchrun worker process now, without the interpreter's shutdown.

    With gloo, the process group outlives ``destroy_process_group`` (DDP keeps a reference that no
    Python code can drop), and so do its worker threads. Each collective's tensors are released on
    such a thread just after the caller was told the collective is done, and releasing a tensor that
    has a Python object takes the GIL. A process that reaches interpreter shutdown first kills that
    thread as it asks for the GIL, mid C++ destructor: SIGABRT, "terminate called without an active
    exception", after the run was saved (seen about once in 150 jobs; a core dump shows
    ``AsyncWork::~AsyncWork`` -> ``decref_pyobject`` -> ``take_gil`` -> ``pthread_exit`` under
    ``Py_FinalizeEx``). The run is written and closed by now, so skipping the shutdown loses
    nothing; the output is flushed first.
    """
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # a closed pipe or stream: nothing more can reach it
            pass
    os._exit(code)


def _first_line(exc: BaseException, limit: int = 120) -> str:
    """The gist of a torch.distributed error: its first line, without gloo's "[source.cc:123] " prefix."""
    text = str(exc).strip().splitlines()
    line = re.sub(r"^\[[^\]]*\]\s*", "", text[0]) if text else type(exc).__name__
    return line if len(line) <= limit else line[: limit - 1] + "…"


class CollectiveFailed(UserError):
    """Another rank died or stopped answering: this one cannot go on alone."""


PEER_GONE = ("another process of the job died or stopped answering ({why}); the run is marked failed "
             "and resumes from its last checkpoint (torchrun ... --no-ui --resume RUN)")


def peer_failure(exc: BaseException, d: Dist) -> str | None:
    """The one-line story of an error raised by a collective (ours, or DDP's gradient all-reduce)."""
    if not d.active or not isinstance(exc, RuntimeError):
        return None
    text = str(exc).lower()
    if isinstance(exc, getattr(dist, "DistError", ())) or any(
            word in text for word in ("connection", "gloo", "nccl", "timed out", "timeout", "peer")):
        return PEER_GONE.format(why=_first_line(exc))
    return None


def _guard(fn):
    """A failed or timed-out collective becomes one clear error (a peer is gone), not a traceback."""

    def wrapped(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except RuntimeError as exc:  # DistBackendError, DistNetworkError and gloo's errors are RuntimeErrors
            raise CollectiveFailed(PEER_GONE.format(why=_first_line(exc))) from exc

    return wrapped


@_guard
def all_sum(*tensors: torch.Tensor) -> list[torch.Tensor]:
    """Element-wise sums over ranks, in one collective (the tensors are flattened together)."""
    flat = torch.cat([t.reshape(-1).to(torch.float64) for t in tensors])
    dist.all_reduce(flat)
    out, i = [], 0
    for t in tensors:
        out.append(flat[i:i + t.numel()].reshape(t.shape).to(t.dtype))
        i += t.numel()
    return out


@_guard
def all_sum_long(t: torch.Tensor) -> torch.Tensor:
    """An integer sum over ranks (counts, confusion matrices: exact, no float rounding)."""
    t = t.clone()
    dist.all_reduce(t)
    return t


@_guard
def gather_objects(obj: Any) -> list[Any]:
    """Every rank's ``obj``, in rank order, on every rank (small things: RNG states, top-5 arrays)."""
    out: list[Any] = [None] * dist.get_world_size()
    dist.all_gather_object(out, obj)
    return out


@_guard
def from_main(obj: Any) -> Any:
    """Rank 0's ``obj`` on every rank."""
    box = [obj]
    dist.broadcast_object_list(box, src=0)
    return box[0]


@_guard
def broadcast_buffers(model: torch.nn.Module) -> None:
    """Rank 0's BatchNorm running statistics to every rank, so all evaluate (and save) the same model."""
    for buf in model.buffers():
        dist.broadcast(buf, 0)


@_guard
def agree(stop: bool, loss: torch.Tensor | None, device: torch.device) -> tuple[bool, float | None]:
    """One collective: did any rank ask to stop, and the ranks' mean loss of the last step.

    A NaN on any rank makes the mean NaN, so every rank reaches the same divergence verdict.
    """
    flags = torch.zeros(3, dtype=torch.float64, device=device)
    flags[0] = float(stop)
    if loss is not None:
        flags[1] = loss.detach().to(torch.float64)
        flags[2] = 1.0
    dist.all_reduce(flags)
    has_loss = flags[2].item() > 0
    return bool(flags[0].item() > 0), (flags[1].item() / flags[2].item()) if has_loss else None


def shard(n: int, d: Dist) -> tuple[int, int]:
    """Rows [lo, hi) of an n-row split that rank d.rank evaluates: contiguous, sizes differ by at most one."""
    return n * d.rank // d.world, n * (d.rank + 1) // d.world


def local_slice(batch: torch.Tensor, d: Dist) -> torch.Tensor:
    """This rank's share of a global batch of indices (contiguous; a short last batch splits unevenly)."""
    lo, hi = shard(len(batch), d)
    return batch[lo:hi]
