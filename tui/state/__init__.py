"""Pure state the screens draw: no widgets, no textual.

    run_state.py   RunState: a run's metrics and progress, folded from engine events
    run_phase.py   Phase: what a run is doing now, in words
    series.py      Series: a curve's points in bounded memory
"""
