"""One router per domain: events, tracker apps, audio stream, uploads, health."""
