"""Offline administration on a backend store and artifact destination: gc, export, import."""
