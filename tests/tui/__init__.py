"""The Textual app: Pilot, snapshots, widgets and screens."""
