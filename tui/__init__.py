"""cifar-tui front ends: the command line, the headless reporter and the Textual app."""
