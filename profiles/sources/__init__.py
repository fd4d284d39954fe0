"""Sources: write keys, the marketer's source pages and API, CSV upload, the analytics.js snippet, e-mail events."""
