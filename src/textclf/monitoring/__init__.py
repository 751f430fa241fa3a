"""Watching the live model: reference distributions, drift statistics, the scheduled check."""
