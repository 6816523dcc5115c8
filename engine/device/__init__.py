"""The machine a run uses: which speed-ups apply on its device, the environment record, torchrun.

    accel.py         the device policy: AMP and autocast, channels_last, compile, fused optimizers
    environment.py   device choice and the record saved with every run
    distributed.py   who this process is in a torchrun job, and the few collectives the loop needs
    launch.py        "was this process started by torchrun?", without importing torch

May import: engine.config, engine.events, engine.control.
"""
