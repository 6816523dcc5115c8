"""Checkpoint files that are verified before they are trusted.

``checkpoints/`` holds ``last.pt`` (the newest state), ``prev.pt`` (the one
before it: the fallback when last.pt is damaged), ``best.pt`` (a hard link to
the best-validation epoch's last.pt) and ``manifest.json``, which records the
sha256 of every checkpoint the writer produced. A file is loaded only if its
bytes hash to a recorded sha256, so a truncated, bit-flipped or foreign file
(or a pickle that would run code) is refused with one line naming it, and a
flipped byte inside a tensor can never load silently.

Crash safety: the manifest learns a new checksum *before* the file that has it
is renamed into place, and forgets old ones only after, so at every instant
each checkpoint on disk is covered by the manifest.
"""
from __future__ import annotations

import hashlib
import io
import os
import shutil
import time
import warnings
from pathlib import Path
from typing import Any

from engine.config import UserError
from engine.runs.layout import CHECKPOINT_DIR, CONFIG_FILE
from engine.runs.files import (
    StoreWriteError,
    atomic_write_json,
    critical,
    describe_write_error,
    fault_point,
    read_json,
    utc_now,
    write_temp,
)

MANIFEST = "manifest.json"
FORMAT = 2  # checkpoints that carry everything a resume needs (format 1 had no "resume" block)
NAMES = ("last.pt", "prev.pt", "best.pt")
CHECKPOINTS = ("best", "last")
"""What a reader may ask for: the run's best model, or its newest."""
_READ_TRIES = 4


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def serialize(state: dict[str, Any]) -> bytes:
    """torch.save into memory: the bytes are hashed once and written with plain I/O,
    so a full disk is an OSError with an errno, not torch's 'unexpected pos'."""
    import torch

    buf = io.BytesIO()
    torch.save(state, buf)
    return buf.getvalue()


class CheckpointWriter:
    """Owns a run's checkpoints/ folder while a process writes the run."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.manifest_path = folder / MANIFEST
        self.entries: dict[str, dict[str, Any]] = _read_entries(self.manifest_path) or {}
        self.current: dict[str, str] = {}
        """File name -> sha256 of the file now on disk under that name (only files that verify)."""
        for name in NAMES:
            path = folder / name
            if path.is_file():
                sha = sha256_file(path)
                if sha in self.entries:
                    self.current[name] = sha

    def save(self, state: dict[str, Any], *, is_best: bool, epoch: int, step: int) -> None:
        """Write last.pt (the old one becomes prev.pt); link it as best.pt when best.

        On failure (disk full) the files already on disk stay as they were and
        StoreWriteError says where; nothing here is left half-written.
        """
        data = serialize(state)
        sha = hashlib.sha256(data).hexdigest()
        last = self.folder / "last.pt"
        with critical():
            self.entries[sha] = {"epoch": epoch, "step": step, "size": len(data), "written_at": utc_now()}
            self._write_manifest()
            try:
                tmp = write_temp(last, lambda f: f.write(data), "wb")
            except OSError as exc:
                raise StoreWriteError(describe_write_error(exc, last)) from exc
            fault_point()
            if "last.pt" in self.current:
                self._link(last, self.folder / "prev.pt")
                self.current["prev.pt"] = self.current["last.pt"]
            fault_point()
            os.replace(tmp, last)
            self.current["last.pt"] = sha
            if is_best:
                self._link(last, self.folder / "best.pt")
                self.current["best.pt"] = sha
            keep = set(self.current.values())
            self.entries = {k: v for k, v in self.entries.items() if k in keep}
            self._write_manifest()

    def _link(self, src: Path, dst: Path) -> None:
        """dst becomes the same bytes as src, atomically (a hard link; a copy where links fail)."""
        tmp = dst.with_name(f".{dst.name}.link.tmp")
        tmp.unlink(missing_ok=True)
        try:
            os.link(src, tmp)
        except OSError:
            shutil.copyfile(src, tmp)
        os.replace(tmp, dst)

    def _write_manifest(self) -> None:
        atomic_write_json(self.manifest_path, {"format": FORMAT, "sha256": self.entries})


def _read_entries(path: Path) -> dict[str, dict[str, Any]] | None:
    """sha256 -> info from a manifest; None when there is none (a run from before checksums)."""
    try:
        data = read_json(path)
    except FileNotFoundError:
        return None
    except (OSError, ValueError):
        return {}  # damaged manifest: nothing verifies, every load is refused
    entries = data.get("sha256") if isinstance(data, dict) else None
    return {k: v for k, v in entries.items() if isinstance(v, dict)} if isinstance(entries, dict) else {}


def read_verified(path: Path) -> tuple[bytes, dict[str, Any]]:
    """The file's bytes and their manifest entry (epoch, step, size): the sha256 of exactly the bytes
    that will be unpickled, so no writer can swap the file between the check and the load.

    A miss is read again a few times (a writer may have replaced the file and pruned the
    manifest between our two reads) before it is refused with one line naming the file.
    """
    path = Path(path)
    entry: dict[str, Any] | None = None
    data, seen = b"", None
    for attempt in range(_READ_TRIES):
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            raise UserError(f"checkpoint {path} is missing") from None
        except OSError as exc:
            raise UserError(f"cannot read {path}: {exc.strerror}") from None
        entries = _read_entries(path.parent / MANIFEST)
        if entries is None:
            raise UserError(f"checkpoint {path} has no recorded checksum (written before checksums were kept); "
                            "it cannot be verified")
        if not data:
            raise UserError(f"checkpoint {path} is empty (a write was cut off)")
        sha = hashlib.sha256(data).hexdigest()
        entry = entries.get(sha)
        if entry is not None or (sha, sorted(entries)) == seen:
            break  # verified, or the same bytes and manifest twice: damaged, not a writer mid-rotation
        seen = (sha, sorted(entries))
        time.sleep(0.05 * (attempt + 1))
    if entry is None:
        raise UserError(f"checkpoint {path} does not match its recorded sha256: truncated, corrupted or replaced")
    return data, entry


def verify(path: Path) -> dict[str, Any]:
    """The manifest's entry for this file (epoch, step, size); UserError when it does not verify."""
    return read_verified(path)[1]


# torch.save writes a zip (PK..); the legacy format is a raw pickle (protocol byte 0x80).
_TORCH_MAGIC = (b"PK\x03\x04", b"\x80")
_OTHER_FORMATS = ((b"\x89PNG", "a PNG image"), (b"\xff\xd8\xff", "a JPEG image"), (b"{", "JSON text"),
                  (b"[", "JSON text"), (b"\x93NUMPY", "a numpy array file"), (b"\x1f\x8b", "a gzip archive"))


def check_torch_format(path: Path, head: bytes) -> None:
    """Name what a file that is not a torch.save file is: torch's own error only talks about weights_only."""
    if head.startswith(_TORCH_MAGIC):
        return
    what = next((name for magic, name in _OTHER_FORMATS if head.lstrip().startswith(magic)),
                "in an unknown format" if head else "empty")
    raise UserError(f"{path} is {what}, not PyTorch weights; pass a state dict saved with "
                    "torch.save(model.state_dict(), FILE)")


def unpickle(path: Path, data: bytes) -> Any:
    """torch.load(weights_only=True) of bytes already read, quiet, with every failure one line naming the file."""
    import torch

    check_torch_format(path, data[:8])
    try:
        with warnings.catch_warnings():  # torch warns before refusing unsafe pickles; the error says it all
            warnings.simplefilter("ignore")
            return torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - any unpickling failure is "not a usable checkpoint"
        reason = "it holds objects other than tensors" if "weights_only" in str(exc) else type(exc).__name__
        raise UserError(f"{path} is not a PyTorch checkpoint or state dict ({reason})") from None


def torch_load(path: Path) -> Any:
    """A file that is not ours to verify (--weights): read once, then unpickled safely."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise UserError(f"cannot read {path}: {exc.strerror}") from None
    return unpickle(path, data)


def check_finite(state: dict[str, Any], path: Path) -> None:
    """Refuse weights holding NaN or Infinity: they would train or analyse garbage."""
    import torch

    for key, value in state.items():
        if isinstance(value, torch.Tensor) and value.is_floating_point() and not torch.isfinite(value).all():
            raise UserError(f"{path} holds non-finite values (NaN/Inf) in {key}; use another checkpoint")


def load_checkpoint(path: Path) -> dict[str, Any]:
    """A checkpoint we wrote: the bytes checked against the manifest are the bytes loaded."""
    return _ours(path, read_verified(path)[0])


def _ours(path: Path, data: bytes) -> dict[str, Any]:
    obj = unpickle(Path(path), data)
    if not isinstance(obj, dict) or not isinstance(obj.get("model"), dict):
        raise UserError(f"{path} is not a cifar-tui checkpoint")
    return obj


def load_weights(path: Path) -> dict[str, Any]:
    """Model weights from a run's checkpoint (always verified) or a plain state dict file."""
    path = Path(path)
    in_a_run = path.parent.name == CHECKPOINT_DIR and (path.parent.parent / CONFIG_FILE).exists()
    if in_a_run or (path.parent / MANIFEST).exists():  # deleting a run's manifest must not turn verification off
        obj = unpickle(path, read_verified(path)[0])
    else:
        obj = torch_load(path)
    if isinstance(obj, dict) and isinstance(obj.get("model"), dict):
        obj = obj["model"]
    if not isinstance(obj, dict):
        raise UserError(f"{path} holds no state dict")
    check_finite(obj, path)
    return obj


def checkpoint_candidates(folder: Path, checkpoint: str) -> list[Path]:
    """The files to try, in order: best -> best.pt if present, else the last chain; last -> last.pt, prev.pt.

    A best.pt that exists but does not verify is refused, not swapped for last.pt
    (the caller asked for the run's best model and must not analyse another silently).
    """
    if checkpoint not in CHECKPOINTS:
        raise UserError(f"unknown checkpoint {checkpoint!r}; choose best or last")
    if checkpoint == "best" and (folder / "best.pt").is_file():
        return [folder / "best.pt"]
    return [p for p in (folder / "last.pt", folder / "prev.pt") if p.is_file()]


def read_model_state(path: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    """(model state dict, checkpoint info: epoch, step) of a run's checkpoint, verified on the bytes loaded."""
    data, entry = read_verified(path)
    obj = _ours(path, data)
    state = {k.removeprefix("_orig_mod."): v for k, v in obj["model"].items()}
    check_finite(state, path)
    epoch, step = obj.get("epoch", entry.get("epoch", 0)), entry.get("step", 0)
    return state, {"epoch": int(epoch) if isinstance(epoch, int) else 0, "step": int(step) if isinstance(step, int) else 0}


def newest_checkpoint(run_dir: Path, run_id: str, checkpoint: str = "best") -> tuple[Path, dict[str, Any], dict[str, Any]]:
    """(path, state dict, info) of the run's best (else newest) checkpoint that verifies."""
    candidates = checkpoint_candidates(Path(run_dir) / CHECKPOINT_DIR, checkpoint)
    if not candidates:
        raise UserError(f"run {run_id} has no checkpoint yet; train it with checkpoints on "
                        "(a running run has one after its first epoch)")
    reasons = []
    for path in candidates:
        try:
            state, info = read_model_state(path)
        except UserError as exc:
            reasons.append(str(exc))
            continue
        return path, state, info
    raise UserError("; ".join(reasons) if len(reasons) == 1 else "no usable checkpoint: " + "; ".join(reasons))


def has_checkpoint(folder: Path) -> bool:
    return any((folder / name).exists() for name in ("last.pt", "prev.pt"))


def resumable_checkpoint(folder: Path, log: Any = None) -> tuple[Path, dict[str, Any]]:
    """The newest checkpoint that verifies and can resume: last.pt, else prev.pt.

    ``log(message)`` hears why a checkpoint was skipped. UserError when none works.
    """
    reasons = []
    for name in ("last.pt", "prev.pt"):
        path = folder / name
        if not path.exists():
            continue
        try:
            state = load_checkpoint(path)
        except UserError as exc:
            reasons.append(str(exc))
            if log:
                log(f"{exc}; trying the previous checkpoint")
            continue
        if "resume" not in state:
            raise UserError(f"{path} was written before runs could be resumed (no resume data); "
                            "start a new run instead")
        return path, state
    if not reasons:
        raise UserError(f"{folder.parent.name} has no checkpoint to resume from (it was stopped before its "
                        "first step was saved, or ran with --no-checkpoints); start a new run")
    raise UserError("no usable checkpoint: " + "; ".join(reasons))
