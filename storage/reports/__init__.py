"""What supervisors read: figures, rollups, searches, exports, themes, public cases."""
