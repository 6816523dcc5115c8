"""The test suite, laid out like the source: engine/, tui/, system/ (real processes); helpers/ is shared."""
