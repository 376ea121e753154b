"""Named operations (e.g. Nightingale) and the hotspot cases they group."""
