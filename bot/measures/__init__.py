"""Shared measurement: indicators, submissions, reminders' content, progress, charts and exports."""
