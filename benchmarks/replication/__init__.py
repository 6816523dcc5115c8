"""The studies' presets run on real images: what to run (plan), how (runner), and the report made from the runs."""
