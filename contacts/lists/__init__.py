"""The machinery of the CRM list pages (contacts, companies, deals, tickets): columns, state, saved views, bulk.

contacts owns it because every CRM app sits on contacts; a list registers its ListSpec (registry.py),
reads its state from the query string (state.py), and shares saved views (saved.py) and bulk-action
parsing (bulk.py). Apps above add columns to another app's list with `registry.column_add`.
"""
