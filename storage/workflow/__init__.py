"""The 差评 follow-up: callbacks, deadlines, notifications, spot checks."""
