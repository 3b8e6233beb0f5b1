"""Edge agents (kiosk, rating terminal, camera recorder) and the runtime they share."""
