"""The training loop and everything a step or an epoch of it needs.

    loop.py           train(config, on_event, control): a run from its config to its end, epoch by epoch
    epoch.py          train_one_epoch: one pass over the training set, step by step
    context.py        Context: the pieces of one run the loop's helpers share
    run_book.py       RunBook: best metric, early stopping, the summary, the store writes
    snapshot.py       what the loop's future depends on, into a checkpoint and back
    resume.py         which runs can be resumed, with what changes, and the config they continue with
    evaluation.py     evaluate a split; the epoch's validation + test pass
    metrics.py        accuracy, top-k, confusion matrix
    selection.py      which epoch is "best" (validation only)
    optim.py          optimizers and the step-wise learning-rate schedule
    tta.py            test-time augmentation
    data_parallel.py  the loop's side of a torchrun job
    feature_cache.py  frozen backbones: features computed once, the head trained on the cache
    feature_cut.py    where a model's frozen part ends

May import: engine.config/events/control, engine.device, engine.runs, engine.data, engine.models, engine.presets.
"""
