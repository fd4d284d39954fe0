"""Journeys: versioned multi-step automations over CDP profiles and CRM facts, run by a due-step sweeper."""
