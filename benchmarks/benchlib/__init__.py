"""Side-by-side benchmark harness: Runyard vs. MLflow vs. FastTrackML."""
