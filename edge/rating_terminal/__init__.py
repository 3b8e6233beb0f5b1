"""Window satisfaction terminal: one rating per served visit, from keys to the gateway."""
