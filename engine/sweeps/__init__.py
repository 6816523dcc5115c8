"""Sweeps: many runs of one experiment with different settings, chosen by Optuna, K at a time.

    space.py       --param FIELD=SPEC: lists and ranges of any RunConfig field; the grid
    definition.py  SweepDefinition (settings, params, sampler, size, pruner), checked against RunConfig
    storage.py     the study: a journal file under <runs>/sweeps/NAME/, or a database (--storage URL)
    claims.py      a lock per trial (no trial runs twice at once) and each trial's worker record
    trial.py       one trial: an ordinary run in its own process, its epochs reported, pruned, told
    driver.py      the loop: K trials at once, unfinished ones continued, stop signals passed on
    table.py       a sweep as plain data: trials, status, params, best, importances (UI-free)
    listing.py     every sweep of a runs directory or a database
    events.py      what the driver says while it runs

Sits on top of engine: it imports the run store, the config and the models' check, never tui.
Optuna is imported inside functions, so importing this package costs nothing until a sweep runs.
"""
