"""Put this folder on PYTHONPATH, and CIFAR_TUI_SHUTDOWN_MARKS to a folder: every Python process that
reaches the interpreter's shutdown (its atexit handlers) leaves a file there, named by its torchrun rank ("launcher" for a process without one).

tests/system/test_distributed.py counts them: torchrun's own process leaves one, its workers none
(engine.device.distributed.exit_worker says why they skip it).
"""
import atexit
import os

_MARKS = os.environ.get("CIFAR_TUI_SHUTDOWN_MARKS")
if _MARKS:
    _NAME = f"{os.environ.get('RANK', 'launcher')}-{os.getpid()}"
    atexit.register(lambda: open(os.path.join(_MARKS, _NAME), "w").close())
