"""Looking at trained runs: a run's model loaded back, its predictions, images, probes, PCA; comparing runs.

    loaded_run.py    a saved run's config and model, rebuilt from its own files
    analyze.py       the analyses of one run (mistakes, feature space, probe) and where they are stored
    images.py        new images classified by a run; training images as the run sees them
    probe.py         linear probes of a run's frozen features
    pca.py           penultimate features and their PCA
    compare.py       several runs side by side: pure data, plain tables
    seed_groups.py   runs that repeat one experiment with other seeds: their mean ± std
    export.py        the per-epoch metrics of several runs as one CSV or JSON file

May import every other engine package.
"""
