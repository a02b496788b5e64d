"""The application's persistence: tables (:mod:`.tables`) and migrations (:mod:`.schema`)."""
