"""Date and time formats of the pages: one format everywhere ("12 May 2026", "12 May 2026, 14:05")."""
