"""Telephony adapters: each renders the engine's `Step` in one provider's language."""
