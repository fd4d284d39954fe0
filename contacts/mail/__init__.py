"""E-mail on the record: mailboxes (IMAP sync, SMTP sending), templates, signatures and tracking."""
