"""The `media` process: live spoken ratings over Twilio's bidirectional media streams.

Only `tokens` and `availability` are imported by the web process; the server, the
listener and the codec (websockets, Vosk) load only in the media process.
"""
