"""What trains for real or drives real processes: subprocess CLI runs, tmux, signals and kills, torchrun,
real datasets, fault trials."""
