"""account-analytics: small single-purpose steps chained by Make (see README)."""
