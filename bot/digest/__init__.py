"""Digests: which stored articles a subscriber should read (build) and how they look in Telegram (render)."""
